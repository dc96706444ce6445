import type { RootFieldOrder } from '../../shared/schema-slices.js';

/**
 * The order of the cases subgraph's Query and Mutation fields. The features' slices add
 * their fields in folder order, but the published order (gateway/supergraph.graphql and
 * introspection) interleaves them as it did before the subgraph was cut into feature
 * folders, and no folder order reproduces it. A new root field is added here too, at the
 * place it should be listed; loading the schema fails until it is.
 */
export const CASES_ROOT_FIELD_ORDER: RootFieldOrder = {
  Query: [
    'personalDataReads',
    'personalDataErasures',
    'personalDataAccessGrants',
    'webhooks',
    'webhookDeliveries',
    'retentionRuns',
    'ingestionFeed',
    'ingestionFeeds',
    'statistics',
    'cases',
    'case',
    'caseByReference',
    'eligibilityRules',
  ],
  Mutation: [
    'acceptCase',
    'reportArrival',
    'submitReintegrationPlan',
    'approveReintegrationPlan',
    'rejectReintegrationPlan',
    'reportCompletion',
    'approveCompletion',
    'withdrawCase',
    'closeCase',
    'replayFailedIngestion',
    'erasePersonalData',
    'openPersonalDataAccess',
    'registerWebhook',
    'deleteWebhook',
    'redeliverWebhook',
    'setEligibilityRules',
  ],
};
