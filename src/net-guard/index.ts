/** Guards on what jobs can reach over the network: the allow-list, the refused ranges, the connect-time check. */
export { checkHop, guardedLookup, refusalIn, type Hop, type LookupFunction, type NetGuard } from './connect.js';
export { DestinationRefusedError, NetGuardErrorCode, type Refusal } from './errors.js';
export { ALLOW_HOSTS_HINT, describeRefusal, normaliseHost, parseAllowList, refusedAddress, refusedName, withHosts, type NetPolicy } from './policy.js';
export { METADATA_HOSTS, RANGE_NAMES, REFUSED_RANGES, type RangeName } from './ranges.js';
export { threadPolicy } from './thread-policy.js';
