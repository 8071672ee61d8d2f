/** watershed/hub: groups of connections and broadcasts to them, across processes through a broker. */
export { Hub, type HubStats, type HubEvents, type BrokerLoss } from './hub'
export { type HubOptions } from './options'
export { type SlowConsumerPolicy, type SlowCloseCode } from './outbound-budget'
export { type Broker, type BrokerEvents } from './broker'
export { RedisBroker, type RedisBrokerOptions, type RedisClientLike } from './redis-broker'
export { PreparedMessage } from '../../protocol/prepared-message'
