/**
 * The case event backbone: the contract every writer and reader shares, the publisher, and
 * the one checkpointed reader every consumer uses. A consumer is a handler of parsed
 * batches plus its checkpoint; see README, "Statistics" and "Subscribe to case events".
 */
export {
  CASE_EVENT_RETENTION,
  CASE_EVENT_TYPES,
  caseEventStream,
  compareStreamIds,
  type AssessmentEventFacts,
  type CaseDisbursement,
  type ComplaintEventFacts,
  type FeedbackEventFacts,
  type CaseEvent,
  type CaseEventEntry,
  type CaseEventFacts,
  type CaseEventFilter,
  type CaseEventKind,
  type CaseEventMessage,
  type CaseEventType,
  type CaseMessageFacts,
  type CaseOwnerFacts,
  type EventMilestone,
  type IndicatorBreachFacts,
} from './contract.js';
export { entryJsonOf, publicTypeOf, publishCaseEvents } from './publisher.js';
export { changesWorklistOf, matchesFilter, mayReceive, messageOf, worklistChangeOf } from './messages.js';
export {
  awaitedStep,
  sameAwaited,
  WORKLIST_STEPS,
  type Awaited,
  type AwaitedRole,
  type WorklistStep,
} from './awaiting.js';
export {
  ReadModelProjector,
  resetProjectionCheckpoint,
  startOwnProjector,
  type ProjectionModel,
  type ReadModelProjectorOptions,
  type ReadModelProjectorSpec,
  type RunningProjector,
} from './projector.js';
export {
  batchOf,
  CaseEventReader,
  MemoryCheckpoint,
  parseStreamEntry,
  projectionCheckpoint,
  redisCheckpoint,
  redisEventSource,
  streamTail,
  type CaseEventBatch,
  type CaseEventHandler,
  type CaseEventReaderOptions,
  type CaseEventSource,
  type CheckpointStore,
  type RawStreamEntry,
} from './reader.js';
