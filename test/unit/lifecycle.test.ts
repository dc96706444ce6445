import { describe, expect, it } from 'vitest';
import type { CaseStatus, Package } from '../../shared/domain.js';
import {
  allowedTransitions,
  decideTransition,
  type Actor,
  type TransitionName,
} from '../../subgraphs/cases/case/lifecycle.js';

const withPlan: Package[] = ['POST_ARRIVAL', 'POST_RETURN'];
const letterOnly: Package[] = ['POST_ARRIVAL'];

describe('case lifecycle transitions', () => {
  it.each([
    // KM1 is the application: complete when the partner accepts; the arrival report is its own step.
    ['acceptCase', 'SUBMITTED', 'PARTNER', withPlan, 'ACCEPTED', 'KM1'],
    ['reportArrival', 'ACCEPTED', 'PARTNER', withPlan, 'ARRIVED', undefined],
    ['submitReintegrationPlan', 'ARRIVED', 'PARTNER', withPlan, 'PLAN_SUBMITTED', undefined],
    ['submitReintegrationPlan', 'PLAN_REJECTED', 'PARTNER', withPlan, 'PLAN_SUBMITTED', undefined],
    ['approveReintegrationPlan', 'PLAN_SUBMITTED', 'MEMBER_STATE', withPlan, 'PLAN_APPROVED', 'KM2'],
    ['reportCompletion', 'PLAN_APPROVED', 'PARTNER', withPlan, 'COMPLETION_REPORTED', undefined],
    ['reportCompletion', 'ARRIVED', 'PARTNER', letterOnly, 'COMPLETION_REPORTED', undefined],
    ['approveCompletion', 'COMPLETION_REPORTED', 'MEMBER_STATE', withPlan, 'COMPLETED', 'KM3'],
    ['amendReintegrationPlan', 'PLAN_APPROVED', 'PARTNER', withPlan, 'PLAN_SUBMITTED', undefined],
    // A delivery records a service on the approved plan; the case stays where it is.
    ['reportServiceDelivery', 'PLAN_APPROVED', 'PARTNER', withPlan, 'PLAN_APPROVED', undefined],
    ['reportServiceDelivery', 'COMPLETION_REPORTED', 'PARTNER', withPlan, 'COMPLETION_REPORTED', undefined],
  ] as const)('%s from %s by %s → %s', (name, from, actor, packages, to, milestone) => {
    const result = decideTransition(name, { status: from, packages }, actor);
    expect(result).toEqual({ ok: true, to, ...(milestone ? { milestone } : {}) });
  });

  it.each([
    ['amendReintegrationPlan', 'PLAN_SUBMITTED'],
    ['amendReintegrationPlan', 'ARRIVED'],
    ['reportServiceDelivery', 'PLAN_SUBMITTED'],
    ['reportServiceDelivery', 'COMPLETED'],
  ] as const)('%s from %s is an ILLEGAL_TRANSITION', (name, status) => {
    const result = decideTransition(name, { status, packages: withPlan }, 'PARTNER');
    expect(result.ok === false && result.refusal.code).toBe('ILLEGAL_TRANSITION');
  });

  it('a case without the post-return package has no plan to deliver on', () => {
    const result = decideTransition(
      'reportServiceDelivery',
      { status: 'PLAN_APPROVED', packages: letterOnly },
      'PARTNER',
    );
    expect(result.ok).toBe(false);
  });

  it.each([
    ['approveReintegrationPlan', 'PLAN_SUBMITTED', 'PARTNER'],
    ['acceptCase', 'SUBMITTED', 'MEMBER_STATE'],
    ['approveCompletion', 'COMPLETION_REPORTED', 'SUPPORT_DESK'],
    ['withdrawCase', 'ACCEPTED', 'PARTNER'],
    ['amendReintegrationPlan', 'PLAN_APPROVED', 'MEMBER_STATE'],
    ['reportServiceDelivery', 'PLAN_APPROVED', 'MEMBER_STATE'],
  ] as const)('%s by %s is refused as FORBIDDEN_ACTOR', (name, status, actor) => {
    const result = decideTransition(name, { status, packages: withPlan }, actor, 'a reason');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.refusal.code).toBe('FORBIDDEN_ACTOR');
  });

  it('an illegal transition names the current state and the allowed next steps', () => {
    const result = decideTransition('approveCompletion', { status: 'ARRIVED', packages: withPlan }, 'MEMBER_STATE');
    expect(result).toEqual({
      ok: false,
      refusal: {
        code: 'ILLEGAL_TRANSITION',
        message:
          'approveCompletion is not allowed while the case is ARRIVED; allowed next: submitReintegrationPlan, ' +
          'withdrawCase, closeCase',
        currentStatus: 'ARRIVED',
        allowed: ['submitReintegrationPlan', 'withdrawCase', 'closeCase'],
      },
    });
  });

  it('a case without the post-return package has no plan step', () => {
    const result = decideTransition('submitReintegrationPlan', { status: 'ARRIVED', packages: letterOnly }, 'PARTNER');
    expect(result.ok).toBe(false);
    expect(allowedTransitions('ARRIVED', { packages: letterOnly }, 'PARTNER')).toEqual(['reportCompletion']);
  });

  it.each(['rejectReintegrationPlan', 'withdrawCase', 'closeCase'] as const)('%s needs a reason', (name) => {
    const status: CaseStatus = name === 'rejectReintegrationPlan' ? 'PLAN_SUBMITTED' : 'ACCEPTED';
    for (const reason of [undefined, null, '', '   ']) {
      const result = decideTransition(name, { status, packages: withPlan }, 'MEMBER_STATE', reason);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.refusal.code).toBe('REASON_REQUIRED');
    }
  });

  it.each(['COMPLETED', 'WITHDRAWN', 'CLOSED'] as const)('nothing follows %s', (status) => {
    expect(allowedTransitions(status, { packages: withPlan })).toEqual([]);
    const actors: Actor[] = ['MEMBER_STATE', 'PARTNER', 'SUPPORT_DESK'];
    const names: TransitionName[] = ['closeCase', 'withdrawCase', 'acceptCase'];
    for (const actor of actors)
      for (const name of names)
        expect(decideTransition(name, { status, packages: withPlan }, actor, 'r').ok).toBe(false);
  });

  it('the support desk may close but not withdraw', () => {
    expect(
      decideTransition('closeCase', { status: 'ARRIVED', packages: withPlan }, 'SUPPORT_DESK', 'duplicate').ok,
    ).toBe(true);
    expect(decideTransition('withdrawCase', { status: 'ARRIVED', packages: withPlan }, 'SUPPORT_DESK', 'x').ok).toBe(
      false,
    );
  });
});
