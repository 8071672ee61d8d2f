/**
 * Section 13: permessage-deflate with different parameters. The JSON data set
 * in the same 18 rows as section 12, under seven parameter combinations
 * (../deflate/negotiation.ts): no context takeover, 8- and 15-bit windows,
 * both, and three offers in order of preference. Against our server the
 * fuzzing client makes the offers and holds the server to its answer; against
 * our client the fuzzing server answers as that combination's server would.
 * Either way the judge inflates the testee's messages with exactly the window
 * and context agreed.
 */
import type { Case } from '../case'
import { PROFILES } from '../deflate/negotiation'
import { ROWS, deflateCase } from './deflate-rows'

export const section13: Case[] = PROFILES.flatMap((profile) =>
  ROWS.map((row, i) => deflateCase(`13.${profile.id}.${i + 1}`, 'json', `JSON text (${profile.description})`, row, profile)),
)
