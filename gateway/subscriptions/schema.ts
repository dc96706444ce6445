import {
  extendSchema,
  type GraphQLError,
  GraphQLObjectType,
  parse,
  responsePathAsArray,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { Principal } from '../../shared/auth.js';
import type { CaseEventFilter, CaseEventMessage, IndicatorBreachFacts } from '../../shared/case-events/index.js';
import { changesWorklistOf } from '../../shared/case-events/index.js';
import { forbidden, rebuiltError } from '../../shared/errors.js';
import type { CaseFetch } from './case-fetch.js';
import type { CaseEventHub } from './hub.js';

/**
 * The subscription part of the graph. `@apollo/gateway` executes no subscriptions, so the
 * gateway serves them itself over graphql-ws on its own `/graphql`: the event comes from
 * the Redis stream every writer appends to, and the `case` of each event is fetched
 * through the federated graph as the subscriber (fields of every subgraph, the same
 * access rules as a query, recorded in the personal data access log like any read).
 */
export const SUBSCRIPTION_SDL = /* GraphQL */ `
  # CaseEventType comes from the graph (the cases subgraph defines it for webhooks too).
  enum Milestone {
    KM1
    KM2
    KM3
  }

  "All given criteria must hold; within one list any value matches."
  input CaseEventFilter {
    caseIds: [ID!]
    countriesOfOrigin: [ID!]
    "The case's status after the change."
    statuses: [CaseStatus!]
    types: [CaseEventType!]
  }

  type CaseEventDisbursement {
    amountCents: Int!
    package: String!
    kind: String!
    date: Date!
  }

  "MESSAGE_POSTED: the message posted on the case's thread (its body: \`case { messages }\`, with personal access)."
  type CaseEventCaseMessage {
    id: ID!
    authorRole: Actor!
    topic: CaseMessageTopic!
  }

  "One change of a case. \`id\` orders events; pass the last one you saw as \`after\` to resume."
  type CaseEventMessage {
    id: ID!
    type: CaseEventType!
    at: DateTime!
    caseId: ID!
    "The lifecycle step, for lifecycle events."
    transition: String
    milestone: Milestone
    "Status after the change; null for a disbursement."
    status: CaseStatus
    disbursement: CaseEventDisbursement
    caseMessage: CaseEventCaseMessage
    "The case now, fetched through the whole graph under your rights (null if you may no longer see it)."
    case: Case
  }

  """
  A case entered, moved within or left your worklist (\`myWorklist\`): a lifecycle step, a new
  case, a feed update. Due dates are read with \`myWorklist\`.
  """
  type WorklistChange {
    "The case event's id: pass the last one you saw as \`after\` to resume."
    id: ID!
    at: DateTime!
    caseId: ID!
    "What the case waits for now; null when it waits for nobody any more."
    awaiting: WorklistStep
    awaitedBy: Actor
    "What it waited for before the change; null for a case that waited for nobody."
    previously: WorklistStep
    previouslyAwaitedBy: Actor
    "The case now, fetched through the whole graph under your rights (null if you may no longer see it)."
    case: Case
  }

  """
  INDICATOR_BREACHED: an indicator's value in a scope and period is worse than its minimum
  standard (\`indicatorBreaches\` lists them). Aggregates only, no case.
  """
  type IndicatorBreachEvent {
    "The event's id: pass the last one you saw as \`after\` to resume."
    id: ID!
    at: DateTime!
    "The stored breach (\`IndicatorBreach.id\`)."
    breachId: ID!
    indicatorId: ID!
    indicatorVersion: Int!
    perspective: IndicatorScopeKind!
    "The scope's key (a Member State, country or partner code); null for the programme."
    key: String
    period: String!
    """
    The value when the breach was found; null for a reader who sees the scope only through
    small-cell suppression (an EU analyst): \`indicatorBreaches\` shows it as suppression allows.
    """
    value: Float
    "The cases the value is over; null as \`value\`."
    casesCounted: Int
    minimumStandard: Float!
    direction: IndicatorDirection!
  }

  extend schema {
    subscription: Subscription
  }

  type Subscription {
    """
    Case events you may see: a Member State its own cases', a partner its assigned cases',
    the central roles all. With \`after\`, the events since that id are sent first, in
    order, then live ones; an id older than the replay window is RESUME_POINT_EXPIRED.
    """
    caseEvents(filter: CaseEventFilter, after: ID): CaseEventMessage!
    """
    Changes of your worklist, from the same events: a Member State's when its cases start or
    stop waiting for its decision, a partner's for its steps, the support desk's for every case.
    Other roles have no worklist (FORBIDDEN). \`after\` resumes as for \`caseEvents\`.
    """
    worklistChanged(after: ID): WorklistChange!
    """
    Indicator breaches you may hear of, from the same event stream: a partner those of its own
    scope, a Member State those of its own, EU analysts, the support desk and administrators all.
    \`after\` resumes as for \`caseEvents\` (which does not carry them).
    """
    indicatorBreached(after: ID): IndicatorBreachEvent!
  }
`;

/**
 * Who hears of indicator breaches (the hub's `mayReceive` then keeps a partner's and a Member
 * State's to their own scope).
 */
export function mayHearOfBreaches(principal: Principal): boolean {
  return ['MEMBER_STATE', 'PARTNER', 'EU_ANALYST', 'SUPPORT_DESK', 'ADMIN'].includes(principal.role);
}

/** Whether `principal` reads a breach's scope exactly (else through suppression: no figures on the event). */
export function readsBreachExactly(principal: Principal, breach: Pick<IndicatorBreachFacts, 'scope'>): boolean {
  switch (principal.role) {
    case 'ADMIN':
    case 'SUPPORT_DESK':
      return true;
    case 'MEMBER_STATE':
      return breach.scope.perspective === 'MEMBER_STATE' && breach.scope.key === principal.memberState;
    case 'PARTNER':
      return breach.scope.perspective === 'PARTNER' && breach.scope.key === principal.partnerId;
    default:
      return false;
  }
}

/** What each subscription operation runs with. */
export interface SubscriptionContext {
  principal: Principal;
  connectionId: string;
  /** Fetches the event's case through the federated graph, as the subscriber. */
  fetchCase: CaseFetch;
  /** Starts fetching the case of an event queued for this subscription (see SubscriptionCaseFetch). */
  prefetchCase?: (message: CaseEventMessage) => void;
  /**
   * Errors of the event being executed that belong in its payload's `errors` (one event at
   * a time per subscription).
   */
  payloadErrors: GraphQLError[];
}

/**
 * Default field resolver of subscription payloads: the case comes back from the graph
 * keyed by response names (aliases included), so read by the response name.
 */
export const byResponseKey: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) =>
  source !== null && typeof source === 'object'
    ? (source as Record<string, unknown>)[String(info.path.key)]
    : undefined;

type MessageResolver = GraphQLFieldResolver<CaseEventMessage, SubscriptionContext>;

/** The fields of an object type of `schema`, to attach resolvers to. */
function fieldsOf(schema: GraphQLSchema, name: string) {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLObjectType)) throw new Error(`the subscription schema has no object type ${name}`);
  return type.getFields();
}

/**
 * The graph's API schema with the subscription part, its resolvers attached: events from
 * `hub`, each `case` fetched by the subscription's own `fetchCase` (the rest of the schema
 * is read by response key, see byResponseKey).
 */
export function subscriptionSchema(apiSchema: GraphQLSchema, hub: Pick<CaseEventHub, 'subscribe'>): GraphQLSchema {
  const schema = extendSchema(apiSchema, parse(SUBSCRIPTION_SDL));
  const caseEvents = fieldsOf(schema, 'Subscription').caseEvents!;
  type Args = { filter?: CaseEventFilter | null; after?: string | null };
  // Indicator breaches have no case: they have a subscription of their own (indicatorBreached).
  const ofCase = (message: CaseEventMessage) => message.type !== 'INDICATOR_BREACHED';
  caseEvents.subscribe = async (_source, args: Args, ctx: SubscriptionContext) =>
    hub.subscribe(ctx.principal, args.filter ?? null, args.after ?? null, ofCase, ctx.prefetchCase);
  caseEvents.resolve = (message: CaseEventMessage) => message;
  const messageFields = fieldsOf(schema, 'CaseEventMessage');
  for (const name of ['id', 'type', 'at', 'caseId', 'transition', 'milestone', 'status'] as const) {
    const resolve: MessageResolver = (message) => message[name];
    messageFields[name]!.resolve = resolve;
  }
  const disbursement: MessageResolver = (message) => message.disbursement;
  messageFields.disbursement!.resolve = disbursement;
  const caseMessage: MessageResolver = (message) => message.caseMessage ?? null;
  messageFields.caseMessage!.resolve = caseMessage;
  const fetchedCase: MessageResolver = async (message, _args, ctx, info) => {
    const fetched = await ctx.fetchCase(message, info);
    // Errors that name no field of the case go into this event's payload, at the case.
    for (const error of fetched.unplaced) {
      const path = responsePathAsArray(info.path);
      ctx.payloadErrors.push(rebuiltError(error, { nodes: info.fieldNodes, path }));
    }
    return fetched.value;
  };
  messageFields.case!.resolve = fetchedCase;
  const worklistChanged = fieldsOf(schema, 'Subscription').worklistChanged!;
  worklistChanged.subscribe = async (_source, args: { after?: string | null }, ctx: SubscriptionContext) => {
    if (!['MEMBER_STATE', 'PARTNER', 'SUPPORT_DESK', 'ADMIN'].includes(ctx.principal.role))
      throw forbidden(`${ctx.principal.role} has no worklist: Member States, partners and the support desk have one`);
    const principal = ctx.principal;
    const select = (message: CaseEventMessage) => changesWorklistOf(principal, message);
    return hub.subscribe(principal, null, args.after ?? null, select, ctx.prefetchCase);
  };
  worklistChanged.resolve = (message: CaseEventMessage) => message;
  const changeFields = fieldsOf(schema, 'WorklistChange');
  for (const name of ['id', 'at', 'caseId'] as const) {
    const resolve: MessageResolver = (message) => message[name];
    changeFields[name]!.resolve = resolve;
  }
  const awaitedField =
    (side: 'before' | 'after', part: 'step' | 'by'): MessageResolver =>
    (message) =>
      message.worklist?.[side]?.[part] ?? null;
  changeFields.awaiting!.resolve = awaitedField('after', 'step');
  changeFields.awaitedBy!.resolve = awaitedField('after', 'by');
  changeFields.previously!.resolve = awaitedField('before', 'step');
  changeFields.previouslyAwaitedBy!.resolve = awaitedField('before', 'by');
  changeFields.case!.resolve = fetchedCase;
  const indicatorBreached = fieldsOf(schema, 'Subscription').indicatorBreached!;
  indicatorBreached.subscribe = async (_source, args: { after?: string | null }, ctx: SubscriptionContext) => {
    if (!mayHearOfBreaches(ctx.principal)) throw forbidden(`${ctx.principal.role} hears of no indicator breaches`);
    return hub.subscribe(ctx.principal, null, args.after ?? null, (message) => message.indicatorBreach != null);
  };
  indicatorBreached.resolve = (message: CaseEventMessage) => message;
  const breachFields = fieldsOf(schema, 'IndicatorBreachEvent');
  const breachField =
    (read: (breach: IndicatorBreachFacts, message: CaseEventMessage) => unknown): MessageResolver =>
    (message) =>
      message.indicatorBreach ? read(message.indicatorBreach, message) : null;
  breachFields.id!.resolve = breachField((_, message) => message.id);
  breachFields.at!.resolve = breachField((_, message) => message.at);
  breachFields.breachId!.resolve = breachField((b) => b.breachId);
  breachFields.indicatorId!.resolve = breachField((b) => b.indicatorId);
  breachFields.indicatorVersion!.resolve = breachField((b) => b.indicatorVersion);
  breachFields.perspective!.resolve = breachField((b) => b.scope.perspective);
  breachFields.key!.resolve = breachField((b) => b.scope.key);
  breachFields.period!.resolve = breachField((b) => b.period);
  // The figures only to those who read the scope exactly (indicators/rules.ts, indicatorAccess): the
  // support desk and administrators, a Member State or partner its own scope. An analyst reads every
  // scope through suppression, so an exact value over a few cases would single returnees out.
  const exact =
    (read: (breach: IndicatorBreachFacts) => unknown): MessageResolver =>
    (message, _args, ctx) =>
      message.indicatorBreach && readsBreachExactly(ctx.principal, message.indicatorBreach)
        ? read(message.indicatorBreach)
        : null;
  breachFields.value!.resolve = exact((b) => b.value);
  breachFields.casesCounted!.resolve = exact((b) => b.cases);
  breachFields.minimumStandard!.resolve = breachField((b) => b.minimumStandard);
  breachFields.direction!.resolve = breachField((b) => b.direction);
  const disbursementFields = fieldsOf(schema, 'CaseEventDisbursement');
  for (const name of ['amountCents', 'package', 'kind', 'date']) {
    disbursementFields[name]!.resolve = (value) => (value as Record<string, unknown>)[name];
  }
  const caseMessageFields = fieldsOf(schema, 'CaseEventCaseMessage');
  for (const name of ['id', 'authorRole', 'topic']) {
    caseMessageFields[name]!.resolve = (value) => (value as Record<string, unknown>)[name];
  }
  return schema;
}
