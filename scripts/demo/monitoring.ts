import { Types } from 'mongoose';
import { PARTNERS } from '../../shared/domain.js';
import { addDays, addMonths } from '../../subgraphs/cases/case/windows.js';
import type { Instrument } from '../../subgraphs/cases/monitoring/instrument.js';
import type {
  AssessmentDoc,
  ComplaintDoc,
  FeedbackDoc,
  FollowUpActionDoc,
  VisitDoc,
} from '../../subgraphs/cases/monitoring/models.js';
import {
  COMPLAINT_CATEGORIES,
  FEEDBACK_SERVICES,
  FOLLOW_UP_MONTHS,
  nextDueOn,
  type ComplaintStatus,
} from '../../subgraphs/cases/monitoring/rules.js';
import { scoreAssessment } from '../../subgraphs/cases/monitoring/scoring.js';
import { createRandom } from './generate.js';

/**
 * Demo monitoring records (deterministic for a seed): sustainability assessments at the
 * 3-, 6- and 12-month follow-ups that have passed for cases past their plan's approval,
 * returnee feedback for most of them, complaints for a few, and two monitoring visits per
 * partner. A returnee's situation is a latent level per dimension that improves over the
 * follow-ups; some countries of origin start lower, so indicators show differences (and a
 * few breaches of their minimum standards).
 */
export interface MonitoredCase {
  _id: Types.ObjectId;
  memberState: string;
  partnerId: string | null;
  countryOfOrigin: string;
  status: string;
  departureDate: string | null;
}

export interface DemoMonitoring {
  assessments: AssessmentDoc[];
  feedback: FeedbackDoc[];
  complaints: ComplaintDoc[];
}

const ASSESSED_STATUSES = new Set(['PLAN_APPROVED', 'COMPLETION_REPORTED', 'COMPLETED', 'CLOSED']);
/** Countries where reintegration is harder in the demo: their returnees start lower. */
const HARDER = new Set(['AF', 'IQ', 'SO', 'SY', 'ER']);
const COMMENTS = [
  'The business start-up support helped me open a small shop.',
  'The reception at the airport was well organised.',
  'The cash came later than promised.',
  'I would like more help finding work.',
  'The counsellor listened and helped my family.',
  'Housing support was good but too short.',
];
const COMPLAINTS = [
  'The start-up grant arrived two months after the plan was approved.',
  'The staff at the local office did not answer my calls.',
  'The training course was cancelled without notice.',
  'I was asked to pay for a service that the plan covers.',
];
const RESOLUTIONS = ['Payment made and delay explained.', 'Course rescheduled.', 'Not within the programme.'];

const partnerRecorder = (partnerId: string) => ({ role: 'PARTNER', subject: `${partnerId}-caseworker`, partnerId });

/** One case's records; `today` bounds which follow-ups have passed. */
export function monitoringForCase(
  c: MonitoredCase,
  instrument: Instrument,
  today: string,
  seed: number,
): DemoMonitoring {
  const out: DemoMonitoring = { assessments: [], feedback: [], complaints: [] };
  if (!c.partnerId || !c.departureDate || !ASSESSED_STATUSES.has(c.status)) return out;
  const random = createRandom(seed ^ parseInt(c._id.toHexString().slice(-8), 16));
  const caseId = c._id.toHexString();
  const base = {
    caseId,
    caseMemberState: c.memberState,
    partnerId: c.partnerId,
  };
  const start = HARDER.has(c.countryOfOrigin) ? 0.3 : 0.45;
  const latent = {
    economic: start + random() * 0.3,
    social: start + 0.1 + random() * 0.3,
    psychosocial: start + random() * 0.35,
  };
  let lastOn: string | null = null;
  for (const months of FOLLOW_UP_MONTHS) {
    const dueOn = addMonths(c.departureDate, months);
    const assessedOn = addDays(dueOn, Math.floor(random() * 20));
    if (assessedOn > today) break;
    // A few returnees are not reached at a follow-up.
    if (random() < 0.08) continue;
    const answers = instrument.items
      .filter(() => random() > 0.05)
      .map((item) => {
        const level = Math.min(1, Math.max(0, latent[item.dimension] + (random() - 0.5) * 0.3));
        const index = Math.round(level * (item.scale.length - 1));
        return { itemId: item.id, value: item.scale[index]!.value };
      });
    const at = new Date(`${assessedOn}T10:00:00Z`);
    out.assessments.push({
      _id: new Types.ObjectId(),
      ...base,
      followUpMonths: months,
      assessedOn,
      instrumentId: instrument.id,
      instrumentVersion: instrument.version,
      answers,
      answeredItems: answers.length,
      scores: scoreAssessment(instrument, answers),
      recordedBy: partnerRecorder(c.partnerId),
      recordedAt: at,
    });
    lastOn = assessedOn;
    for (const d of ['economic', 'social', 'psychosocial'] as const)
      latent[d] = Math.min(1, latent[d] + random() * 0.12);
  }
  if (lastOn && random() < 0.6) {
    const services = FEEDBACK_SERVICES.filter(() => random() < 0.3);
    const satisfaction = Object.fromEntries(
      [...services, 'OVERALL' as const].map((s) => [s, Math.min(5, Math.max(1, Math.round(2.5 + random() * 3)))]),
    );
    const at = new Date(`${lastOn}T11:00:00Z`);
    out.feedback.push({
      _id: new Types.ObjectId(),
      ...base,
      givenOn: lastOn,
      satisfaction,
      comment: random() < 0.4 ? COMMENTS[Math.floor(random() * COMMENTS.length)]! : null,
      recordedBy: partnerRecorder(c.partnerId),
      recordedAt: at,
    });
    if (random() < 0.08) {
      const status: ComplaintStatus = (['OPEN', 'IN_PROGRESS', 'RESOLVED', 'RESOLVED', 'REJECTED'] as const)[
        Math.floor(random() * 5)
      ]!;
      const final = status === 'RESOLVED' || status === 'REJECTED';
      out.complaints.push({
        _id: new Types.ObjectId(),
        ...base,
        category: COMPLAINT_CATEGORIES[Math.floor(random() * COMPLAINT_CATEGORIES.length)]!,
        status,
        description: COMPLAINTS[Math.floor(random() * COMPLAINTS.length)]!,
        resolution: final ? RESOLUTIONS[Math.floor(random() * RESOLUTIONS.length)]! : null,
        filedBy: partnerRecorder(c.partnerId),
        filedAt: at,
        updatedAt: at,
        changes:
          status === 'OPEN'
            ? []
            : [{ from: 'OPEN', to: status, by: { role: 'SUPPORT_DESK', subject: 'desk-demo' }, at }],
      });
    }
  }
  return out;
}

/** Two visits per partner around `today`: one with an overdue action, one done. */
export function demoVisits(today: string): VisitDoc[] {
  const visits: VisitDoc[] = [];
  for (const [i, partner] of PARTNERS.entries()) {
    for (const [k, monthsAgo] of [4, 1].entries()) {
      const visitedOn = addMonths(today, -monthsAgo);
      const actions: FollowUpActionDoc[] = [
        {
          id: `a${i}${k}1`,
          description: 'Keep proofs of payment with each plan line',
          dueOn: addMonths(visitedOn, 1),
          owner: 'PARTNER' as const,
          completedOn: k === 0 && i % 2 === 0 ? null : addMonths(visitedOn, 1),
          completedBy: null,
        },
        {
          id: `a${i}${k}2`,
          description: 'Review the follow-up calls at 6 months',
          dueOn: addMonths(visitedOn, 2),
          owner: 'SUPPORT_DESK' as const,
          completedOn: null,
          completedBy: null,
        },
      ].map((a) => (a.completedOn && a.completedOn > today ? { ...a, completedOn: null } : a));
      visits.push({
        _id: new Types.ObjectId(),
        partnerId: partner.id,
        countryOfOrigin: null,
        kind: k === 0 ? 'FIELD_VISIT' : 'PARTNER_REVIEW',
        visitedOn,
        scope:
          k === 0
            ? 'Field office: case files, receipts and returnee interviews'
            : 'Quarterly review of plans and delays',
        findings:
          k === 0
            ? 'Files complete for most cases; some receipts missing; returnees report delays in start-up grants.'
            : 'Plans approved on time; follow-up calls at 6 months are not always documented.',
        followUpActions: actions,
        nextDueOn: nextDueOn(actions),
        recordedBy: { role: 'SUPPORT_DESK', subject: 'desk-demo' },
        recordedAt: new Date(`${visitedOn}T17:00:00Z`),
      });
    }
  }
  return visits;
}
