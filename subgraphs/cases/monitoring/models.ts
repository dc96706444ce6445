import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { modelOn } from '../../../shared/mongo.js';
import type { Answer, SustainabilityScores } from './scoring.js';
import type { ActionOwner, ComplaintCategory, ComplaintStatus } from './rules.js';

/** Who recorded a monitoring record: role and token subject (as the case history names actors). */
export interface RecordedBy {
  role: string;
  subject: string;
  partnerId?: string;
}

/**
 * A sustainability assessment of a case's returnee at a follow-up point. The answers and
 * scores are personal data (the case's owners read them); the answers are removed by erasure,
 * the scores kept (as a case's retained facts are), so aggregates do not move.
 */
export interface AssessmentDoc {
  _id: Types.ObjectId;
  caseId: string;
  caseMemberState: string;
  partnerId: string | null;
  followUpMonths: 3 | 6 | 12;
  assessedOn: string;
  instrumentId: string;
  instrumentVersion: string;
  /** Null once the case's personal data was erased. */
  answers: Answer[] | null;
  answeredItems: number;
  scores: SustainabilityScores;
  recordedBy: RecordedBy;
  recordedAt: Date;
  erasedAt?: Date;
}

/** Returnee feedback: satisfaction per service and a comment (free text, personal). */
export interface FeedbackDoc {
  _id: Types.ObjectId;
  caseId: string;
  caseMemberState: string;
  partnerId: string | null;
  givenOn: string;
  satisfaction: Record<string, number>;
  /** Null when none was given, or once erased. */
  comment: string | null;
  recordedBy: RecordedBy;
  recordedAt: Date;
  erasedAt?: Date;
}

export interface ComplaintDoc {
  _id: Types.ObjectId;
  caseId: string;
  caseMemberState: string;
  partnerId: string | null;
  category: ComplaintCategory;
  status: ComplaintStatus;
  /** Free text, personal; null once erased. */
  description: string | null;
  resolution: string | null;
  filedBy: RecordedBy;
  filedAt: Date;
  updatedAt: Date;
  /** Every status change: who, when, from what. */
  changes: Array<{ from: ComplaintStatus; to: ComplaintStatus; by: RecordedBy; at: Date }>;
  erasedAt?: Date;
}

export interface FollowUpActionDoc {
  id: string;
  description: string;
  dueOn: string;
  owner: ActionOwner;
  completedOn: string | null;
  completedBy: RecordedBy | null;
}

/** A monitoring visit or partner review by the support desk: not case data. */
export interface VisitDoc {
  _id: Types.ObjectId;
  partnerId: string;
  countryOfOrigin: string | null;
  kind: string;
  visitedOn: string;
  scope: string;
  findings: string;
  followUpActions: FollowUpActionDoc[];
  /** The earliest due date of an open action (null: none open): what `overdueOnly` filters on. */
  nextDueOn: string | null;
  recordedBy: RecordedBy;
  recordedAt: Date;
}

const options = (collection: string) => ({ collection, versionKey: false, strict: false }) as const;

const assessmentSchema = new Schema<AssessmentDoc>({}, options('sustainabilityAssessments'));
// One assessment per case and follow-up point.
assessmentSchema.index({ caseId: 1, followUpMonths: 1 }, { name: 'caseId_followUp_unique', unique: true });
const feedbackSchema = new Schema<FeedbackDoc>({}, options('returneeFeedback'));
feedbackSchema.index({ caseId: 1, _id: 1 }, { name: 'caseId_id' });
const complaintSchema = new Schema<ComplaintDoc>({}, options('returneeComplaints'));
complaintSchema.index({ caseId: 1, _id: 1 }, { name: 'caseId_id' });
const visitSchema = new Schema<VisitDoc>({}, options('monitoringVisits'));
visitSchema.index({ partnerId: 1, _id: 1 }, { name: 'partnerId_id' });

export interface MonitoringModels {
  Assessment: Model<AssessmentDoc>;
  Feedback: Model<FeedbackDoc>;
  Complaint: Model<ComplaintDoc>;
  Visit: Model<VisitDoc>;
}

export function monitoringModels(connection: Connection): MonitoringModels {
  return {
    Assessment: modelOn<AssessmentDoc>(connection, 'SustainabilityAssessment', assessmentSchema),
    Feedback: modelOn<FeedbackDoc>(connection, 'ReturneeFeedback', feedbackSchema),
    Complaint: modelOn<ComplaintDoc>(connection, 'ReturneeComplaint', complaintSchema),
    Visit: modelOn<VisitDoc>(connection, 'MonitoringVisit', visitSchema),
  };
}
