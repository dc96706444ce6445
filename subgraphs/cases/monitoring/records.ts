import { Types } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { badUserInput, codedError, forbidden, notFound } from '../../../shared/errors.js';
import type { CaseDoc } from '../case/models.js';
import type { Instrument } from './instrument.js';
import type { AssessmentDoc, ComplaintDoc, FeedbackDoc, MonitoringModels, RecordedBy } from './models.js';
import {
  checkComplaintMove,
  checkFollowUp,
  checkSatisfaction,
  checkText,
  COMPLAINT_CATEGORIES,
  COMPLAINT_STATUSES,
  FOLLOW_UP_MONTHS,
  isDate,
  MAX_COMPLAINT_DESCRIPTION_CHARS,
  MAX_COMPLAINT_RESOLUTION_CHARS,
  MAX_COMPLAINTS_PER_CASE,
  MAX_FEEDBACK_COMMENT_CHARS,
  MAX_FEEDBACK_PER_CASE,
  type ComplaintCategory,
  type ComplaintStatus,
} from './rules.js';
import { checkAnswers, scoreAssessment } from './scoring.js';

type Publish = (events: ReadonlyArray<CaseEvent>) => Promise<unknown>;
type CaseFacts = Pick<CaseDoc, '_id' | 'memberState' | 'partnerId' | 'countryOfOrigin' | 'status' | 'version'>;

export function recordedBy(principal: Principal): RecordedBy {
  return {
    role: principal.role,
    subject: principal.subject,
    ...(principal.partnerId ? { partnerId: principal.partnerId } : {}),
  };
}

function ownerOf(doc: CaseFacts) {
  return {
    memberState: doc.memberState,
    partnerId: doc.partnerId ?? null,
    countryOfOrigin: doc.countryOfOrigin,
    status: doc.status,
  };
}

const erasedRefusal = (caseId: string) =>
  forbidden(`The personal data of case ${caseId} was erased: no monitoring record can be added`, { caseId });

export interface AssessmentInput {
  followUpMonths: unknown;
  assessedOn: unknown;
  answers: unknown;
  instrumentVersion: unknown;
}

/** Checks, scores and stores an assessment, then announces it (ASSESSMENT_RECORDED, scores only). */
export async function recordAssessment(
  models: MonitoringModels,
  publish: Publish,
  instrument: Instrument,
  doc: CaseDoc,
  principal: Principal,
  input: AssessmentInput,
  today: string,
  erasedSince: () => Promise<boolean>,
  now = new Date(),
): Promise<AssessmentDoc> {
  const caseId = doc._id.toHexString();
  if (doc.erasure) throw erasedRefusal(caseId);
  if (input.instrumentVersion !== instrument.version)
    throw codedError(
      'INSTRUMENT_VERSION_MISMATCH',
      `Argument "input.instrumentVersion" must be the instrument in force, ` +
        `${instrument.id} version ${instrument.version}`,
      { current: instrument.version, instrumentId: instrument.id },
    );
  const months = input.followUpMonths;
  if (typeof months !== 'number' || !(FOLLOW_UP_MONTHS as readonly number[]).includes(months))
    throw badUserInput('Argument "input.followUpMonths" must be 3, 6 or 12', 'input.followUpMonths');
  if (!isDate(input.assessedOn))
    throw badUserInput('Argument "input.assessedOn" must be a date (YYYY-MM-DD)', 'input.assessedOn');
  const due = checkFollowUp(doc.departureDate, months, input.assessedOn, today);
  if (!due.ok) throw codedError('FOLLOW_UP_NOT_DUE', `Case ${caseId}: ${due.reason}`, { caseId, dueOn: due.dueOn });
  const answers = checkAnswers(instrument, input.answers);
  if (!answers.ok) throw badUserInput(`Argument "input.answers" ${answers.reason}`, 'input.answers');
  const existing = await models.Assessment.countDocuments({ caseId, followUpMonths: months }).exec();
  if (existing > 0) throw assessmentExists(caseId, months);
  const assessment: AssessmentDoc = {
    _id: new Types.ObjectId(),
    caseId,
    caseMemberState: doc.memberState,
    partnerId: doc.partnerId ?? null,
    followUpMonths: months as 3 | 6 | 12,
    assessedOn: input.assessedOn,
    instrumentId: instrument.id,
    instrumentVersion: instrument.version,
    answers: answers.answers,
    answeredItems: answers.answers.length,
    scores: scoreAssessment(instrument, answers.answers),
    recordedBy: recordedBy(principal),
    recordedAt: now,
  };
  try {
    await models.Assessment.collection.insertOne(assessment);
  } catch (error) {
    if ((error as { code?: number }).code === 11000) throw assessmentExists(caseId, months);
    throw error;
  }
  if (await erasedSince()) {
    await eraseMonitoring(models, caseId, now);
    throw erasedRefusal(caseId);
  }
  await publish([assessmentEvent(doc, assessment)]);
  return assessment;
}

const assessmentExists = (caseId: string, months: number) =>
  codedError('ASSESSMENT_EXISTS', `Case ${caseId} already has its ${months}-month assessment`, {
    caseId,
    followUpMonths: months,
  });

export function assessmentEvent(doc: CaseFacts, a: AssessmentDoc): CaseEvent {
  return {
    type: 'case.assessed',
    caseId: doc._id.toHexString(),
    version: doc.version,
    at: a.recordedAt.toISOString(),
    before: null,
    after: null,
    owner: ownerOf(doc),
    assessment: {
      assessmentId: a._id.toHexString(),
      followUpMonths: a.followUpMonths,
      instrumentVersion: a.instrumentVersion,
      scores: a.scores,
    },
  };
}

export interface FeedbackInput {
  satisfaction: unknown;
  comment?: unknown;
  givenOn?: unknown;
}

export async function recordFeedback(
  models: MonitoringModels,
  publish: Publish,
  doc: CaseDoc,
  principal: Principal,
  input: FeedbackInput,
  today: string,
  erasedSince: () => Promise<boolean>,
  now = new Date(),
): Promise<FeedbackDoc> {
  const caseId = doc._id.toHexString();
  if (doc.erasure) throw erasedRefusal(caseId);
  const satisfaction = checkSatisfaction(input.satisfaction);
  if (!satisfaction.ok)
    throw badUserInput(`Argument "input.satisfaction" ${satisfaction.reason}`, 'input.satisfaction');
  let comment: string | null = null;
  if (input.comment != null) {
    const checked = checkText(input.comment, MAX_FEEDBACK_COMMENT_CHARS);
    if (!checked.ok) throw badUserInput(`Argument "input.comment" ${checked.reason}`, 'input.comment');
    comment = checked.text;
  }
  const givenOn = input.givenOn ?? today;
  if (!isDate(givenOn) || givenOn > today)
    throw badUserInput('Argument "input.givenOn" must be a date (YYYY-MM-DD), not in the future', 'input.givenOn');
  if ((await models.Feedback.countDocuments({ caseId }).exec()) >= MAX_FEEDBACK_PER_CASE)
    throw badUserInput(`Case ${caseId} holds the most feedback a case may (${MAX_FEEDBACK_PER_CASE})`, 'caseId', {
      limit: MAX_FEEDBACK_PER_CASE,
    });
  const feedback: FeedbackDoc = {
    _id: new Types.ObjectId(),
    caseId,
    caseMemberState: doc.memberState,
    partnerId: doc.partnerId ?? null,
    givenOn,
    satisfaction: satisfaction.satisfaction,
    comment,
    recordedBy: recordedBy(principal),
    recordedAt: now,
  };
  await models.Feedback.collection.insertOne(feedback);
  if (await erasedSince()) {
    await eraseMonitoring(models, caseId, now);
    throw erasedRefusal(caseId);
  }
  await publish([
    {
      type: 'case.feedback',
      caseId,
      version: doc.version,
      at: now.toISOString(),
      before: null,
      after: null,
      owner: ownerOf(doc),
      feedback: { feedbackId: feedback._id.toHexString(), satisfaction: feedback.satisfaction, complaint: null },
    },
  ]);
  return feedback;
}

export async function fileComplaint(
  models: MonitoringModels,
  publish: Publish,
  doc: CaseDoc,
  principal: Principal,
  input: { category: unknown; description: unknown },
  erasedSince: () => Promise<boolean>,
  now = new Date(),
): Promise<ComplaintDoc> {
  const caseId = doc._id.toHexString();
  if (doc.erasure) throw erasedRefusal(caseId);
  if (typeof input.category !== 'string' || !(COMPLAINT_CATEGORIES as readonly string[]).includes(input.category))
    throw badUserInput('Argument "input.category" names no complaint category', 'input.category');
  const description = checkText(input.description, MAX_COMPLAINT_DESCRIPTION_CHARS);
  if (!description.ok) throw badUserInput(`Argument "input.description" ${description.reason}`, 'input.description');
  if ((await models.Complaint.countDocuments({ caseId }).exec()) >= MAX_COMPLAINTS_PER_CASE)
    throw badUserInput(`Case ${caseId} holds the most complaints a case may (${MAX_COMPLAINTS_PER_CASE})`, 'caseId', {
      limit: MAX_COMPLAINTS_PER_CASE,
    });
  const complaint: ComplaintDoc = {
    _id: new Types.ObjectId(),
    caseId,
    caseMemberState: doc.memberState,
    partnerId: doc.partnerId ?? null,
    category: input.category as ComplaintCategory,
    status: 'OPEN',
    description: description.text,
    resolution: null,
    filedBy: recordedBy(principal),
    filedAt: now,
    updatedAt: now,
    changes: [],
  };
  await models.Complaint.collection.insertOne(complaint);
  if (await erasedSince()) {
    await eraseMonitoring(models, caseId, now);
    throw erasedRefusal(caseId);
  }
  await publish([complaintEvent(doc, complaint, null, now)]);
  return complaint;
}

export function complaintEvent(
  doc: CaseFacts,
  complaint: Pick<ComplaintDoc, '_id' | 'category' | 'status'>,
  previousStatus: ComplaintStatus | null,
  at: Date,
): CaseEvent {
  const complaintId = complaint._id.toHexString();
  return {
    type: 'case.complaint',
    caseId: doc._id.toHexString(),
    version: doc.version,
    at: at.toISOString(),
    before: null,
    after: null,
    owner: ownerOf(doc),
    publicType: previousStatus === null ? 'COMPLAINT_RECORDED' : 'COMPLAINT_UPDATED',
    feedback: {
      feedbackId: complaintId,
      satisfaction: {},
      complaint: { category: complaint.category, status: complaint.status },
    },
    complaint: { complaintId, category: complaint.category, status: complaint.status, previousStatus },
  };
}

/** A complaint id as issued (24 hex digits). */
export const isRecordId = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{24}$/i.test(value);

/** The complaint, or NOT_FOUND; whether the caller may see its case is the resolver's check (same answer). */
export async function findComplaint(models: MonitoringModels, id: string): Promise<ComplaintDoc | null> {
  if (!isRecordId(id)) return null;
  return models.Complaint.findOne({ _id: new Types.ObjectId(id) })
    .lean<ComplaintDoc>()
    .exec();
}

export const complaintNotFound = (id: string) => notFound('Complaint', id, { complaintId: id });

/** Moves a complaint (rules.ts), conditional on the status read: two moves cannot both win. */
export async function moveComplaint(
  models: MonitoringModels,
  publish: Publish,
  doc: CaseDoc,
  complaint: ComplaintDoc,
  principal: Principal,
  input: { status: unknown; resolution?: unknown },
  now = new Date(),
): Promise<ComplaintDoc> {
  const id = complaint._id.toHexString();
  if (doc.erasure || complaint.description === null) throw erasedRefusal(doc._id.toHexString());
  if (typeof input.status !== 'string' || !(COMPLAINT_STATUSES as readonly string[]).includes(input.status))
    throw badUserInput('Argument "input.status" names no complaint status', 'input.status');
  const to = input.status as ComplaintStatus;
  let resolution: string | null = null;
  if (input.resolution != null) {
    const checked = checkText(input.resolution, MAX_COMPLAINT_RESOLUTION_CHARS);
    if (!checked.ok) throw badUserInput(`Argument "input.resolution" ${checked.reason}`, 'input.resolution');
    resolution = checked.text;
  }
  const move = checkComplaintMove(principal.role, complaint.status, to, resolution !== null);
  if (!move.ok) {
    if (move.code === 'ILLEGAL_COMPLAINT_STATUS')
      throw codedError('ILLEGAL_COMPLAINT_STATUS', `Complaint ${id}: ${move.reason}`, {
        complaintId: id,
        currentStatus: complaint.status,
        allowed: move.allowed,
      });
    if (move.code === 'FORBIDDEN') throw forbidden(`Complaint ${id}: ${move.reason}`, { complaintId: id });
    throw badUserInput(`Complaint ${id}: ${move.reason}`, 'input.resolution');
  }
  const change = { from: complaint.status, to, by: recordedBy(principal), at: now };
  const result = await models.Complaint.updateOne(
    { _id: complaint._id, status: complaint.status },
    { $set: { status: to, resolution, updatedAt: now }, $push: { changes: change } },
  ).exec();
  if (result.matchedCount === 0)
    throw codedError('CONFLICT', `Complaint ${id} changed status meanwhile; read it again`, { complaintId: id });
  const updated: ComplaintDoc = {
    ...complaint,
    status: to,
    resolution,
    updatedAt: now,
    changes: [...complaint.changes, change],
  };
  await publish([complaintEvent(doc, updated, complaint.status, now)]);
  return updated;
}

/**
 * Erasure (data-protection/erasure.ts): the answers of the case's assessments, its feedback
 * comments and its complaints' descriptions and resolutions are removed; scores, satisfaction
 * figures, categories and statuses stay (they name no one once the case is erased, and the
 * aggregates must not move). Returns how many records held personal text. Idempotent.
 */
export async function eraseMonitoring(models: MonitoringModels, caseId: string, now = new Date()): Promise<number> {
  const [assessments, feedback, complaints] = await Promise.all([
    models.Assessment.updateMany({ caseId, answers: { $ne: null } }, { $set: { answers: null, erasedAt: now } }).exec(),
    models.Feedback.updateMany({ caseId, comment: { $ne: null } }, { $set: { comment: null, erasedAt: now } }).exec(),
    models.Complaint.updateMany(
      { caseId, $or: [{ description: { $ne: null } }, { resolution: { $ne: null } }] },
      { $set: { description: null, resolution: null, erasedAt: now } },
    ).exec(),
  ]);
  return assessments.modifiedCount + feedback.modifiedCount + complaints.modifiedCount;
}
