/**
 * Subscriptions to case events, served by the gateway over graphql-ws (README, Subscribe to
 * case events): the schema part and its resolvers (schema.ts), the hub that reads the case
 * event stream and fans it out (hub.ts), the per-event case fetch through the graph
 * (case-fetch.ts) and the WebSocket server (server.ts).
 */
export { CaseEventHub, type HubOptions } from './hub.js';
export { caseQueryFor, personalFieldsOf, placeErrors, readsPersonalData } from './case-fetch.js';
export { SUBSCRIPTION_SDL } from './schema.js';
export { startSubscriptionServer, type SubscriptionServer, type SubscriptionServerOptions } from './server.js';
