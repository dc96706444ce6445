import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import type { Principal } from '../shared/auth.js';
import { badRequest, parseFailed, rebuiltError, validationFailed, withoutSuggestions } from '../shared/errors.js';
import type { GatewayContext } from './datasource.js';

/**
 * The checks every GraphQL operation passes, whichever way it came: a query or mutation
 * over HTTP (Apollo Server runs them through the options and plugin of `apolloOptions`)
 * or a subscription over WebSocket (graphql-ws runs them through `check`). One list, kept
 * in one place (gateway/server.ts), so a new guard is added once and holds for both.
 */

export type Transport = 'http' | 'ws';

/** Who asks, as a guard sees it. */
export interface Caller {
  transport: Transport;
  principal: Principal | null;
  /** The client's address: anonymous callers are told apart by it. */
  clientAddress?: string | undefined;
}

/** An operation that was parsed, validated and picked from its document. */
export interface GuardedOperation {
  /** The document's text as the client sent it (a safelist lists texts, by their hash). */
  source: string;
  document: DocumentNode;
  /** Undefined when the document holds several and none is named (Apollo Server then refuses it after the guards). */
  operation: OperationDefinitionNode | undefined;
}

/**
 * One guard. Each takes part in the steps it needs; for every operation the steps run in
 * this order, and within a step the guards run in the order of the list:
 * 1. `authenticate`: who is asking, from the `Authorization` value (the HTTP header, or
 *    `connection_init` over WebSocket, once per connection). Exactly one guard does it.
 * 2. `admit`: whether this caller may run one more operation now. It runs as the
 *    operation arrives, before its document is read (so a malformed one counts too), and
 *    its refusal is the answer at once: a refused client costs no parsing or validation.
 *    Over HTTP it runs as the request's context is built (`admitHttp`), the one point before
 *    parsing where Apollo Server answers a refusal with its own status.
 * 3. `parseOptions`, `validationRules`: limits the document must keep to.
 * 4. `allow`: whether the parsed, valid operation may run.
 * A guard refuses by throwing a GraphQLError with its code (and `extensions.http` for the
 * HTTP status and headers, which a WebSocket client does not get).
 */
export interface Guard {
  readonly name: string;
  authenticate?(authorization: string | undefined): Promise<Principal | null>;
  admit?(caller: Caller): Promise<void>;
  readonly parseOptions?: { maxTokens?: number };
  readonly validationRules?: readonly ValidationRule[];
  /** Apollo Server's own parts of this guard (how it formats its errors over HTTP). */
  readonly apolloPlugins?: readonly ApolloServerPlugin[];
  allow?(operation: GuardedOperation, caller: Caller): void | Promise<void>;
}

/** An operation `check` lets run: always one the document names. */
export type CheckedOperation = GuardedOperation & { operation: OperationDefinitionNode };

/** What a WebSocket subscribe message carries. */
export interface OperationRequest {
  query: string;
  operationName?: string | null | undefined;
}

export interface CheckOptions {
  /** In production, validation errors lose graphql-js's "Did you mean ...?" (README, Limits). */
  production: boolean;
  /** What the transport itself refuses once the operation is known (a query over WebSocket). */
  accept?: (operation: OperationDefinitionNode) => GraphQLError | undefined;
}

/** A refusal as a WebSocket client gets it: the HTTP status and headers are for HTTP only. */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (!('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return rebuiltError(error, { nodes: error.nodes, extensions });
}

export class Guards {
  private readonly authenticator: Guard;

  constructor(readonly list: readonly Guard[]) {
    const authenticators = list.filter((guard) => guard.authenticate);
    if (authenticators.length !== 1) {
      throw new Error(`exactly one guard must authenticate; found ${authenticators.length}`);
    }
    this.authenticator = authenticators[0]!;
  }

  /** The caller's principal (null when anonymous); throws to refuse the credentials. */
  authenticate(authorization: string | undefined): Promise<Principal | null> {
    return this.authenticator.authenticate!(authorization);
  }

  private async admit(caller: Caller): Promise<void> {
    for (const guard of this.list) await guard.admit?.(caller);
  }

  /**
   * For HTTP, as the request's context is built, before Apollo Server reads the document:
   * who is asking, and whether they may run one more operation (a refusal is thrown, with
   * its HTTP status and headers, and is the answer).
   */
  async admitHttp(authorization: string | undefined, clientAddress?: string): Promise<Principal | null> {
    const principal = await this.authenticate(authorization);
    await this.admit({ transport: 'http', principal, clientAddress });
    return principal;
  }

  /** Every guard's parser limits at once: the lowest token limit wins. */
  get parseOptions(): { maxTokens?: number } {
    const limits = this.list.flatMap((guard) => guard.parseOptions?.maxTokens ?? []);
    return limits.length > 0 ? { maxTokens: Math.min(...limits) } : {};
  }

  get validationRules(): ValidationRule[] {
    return this.list.flatMap((guard) => guard.validationRules ?? []);
  }

  private async allow(operation: GuardedOperation, caller: Caller): Promise<void> {
    for (const guard of this.list) await guard.allow?.(operation, caller);
  }

  /**
   * For Apollo Server (HTTP): its parse options and validation rules, and a plugin that
   * runs `allow` once the operation is resolved (`admitHttp` ran as the context was built).
   * The gateway's own queries (`internal`: a subscription's per-event fetch, the push API's
   * report) are not a client's: they keep to the limits but are neither counted nor held to
   * the safelist (a subscription's document was, when it was subscribed).
   */
  apolloOptions(): {
    parseOptions: { maxTokens?: number };
    validationRules: ValidationRule[];
    plugins: ApolloServerPlugin<GatewayContext>[];
  } {
    const callerOf = (context: GatewayContext): Caller => ({
      transport: 'http',
      principal: context.principal,
      clientAddress: context.clientAddress,
    });
    const plugin: ApolloServerPlugin<GatewayContext> = {
      requestDidStart: async ({ contextValue }) => {
        if (contextValue.internal) return;
        return {
          didResolveOperation: async ({ source, document, operation }) => {
            await this.allow({ source, document, operation }, callerOf(contextValue));
          },
        };
      },
    };
    const own = this.list.flatMap((guard) => guard.apolloPlugins ?? []) as ApolloServerPlugin<GatewayContext>[];
    return { parseOptions: this.parseOptions, validationRules: this.validationRules, plugins: [plugin, ...own] };
  }

  /**
   * For an operation Apollo Server does not run (a subscription over WebSocket): the same
   * steps in the same order (admit, parse, validate, allow), with the errors Apollo Server
   * gives over HTTP. Returns the operation to run, or why not.
   */
  async check(
    schema: GraphQLSchema,
    caller: Caller,
    request: OperationRequest,
    options: CheckOptions,
  ): Promise<CheckedOperation | GraphQLError[]> {
    const refused = (error: unknown) => {
      if (error instanceof GraphQLError) return [withoutHttp(error)];
      throw error;
    };
    try {
      await this.admit(caller);
    } catch (error) {
      return refused(error);
    }
    let document: DocumentNode;
    try {
      document = parse(request.query, this.parseOptions);
    } catch (error) {
      return [parseFailed((error as Error).message)];
    }
    const operation = getOperationAST(document, request.operationName);
    if (!operation) {
      const message = 'The document must name one operation (operationName)';
      return [badRequest(message)];
    }
    const unaccepted = options.accept?.(operation);
    if (unaccepted) return [unaccepted];
    const errors = validate(schema, document, [...specifiedRules, ...this.validationRules]);
    if (errors.length > 0) {
      return errors.map((e) => {
        const message = options.production ? withoutSuggestions(e.message) : e.message;
        return validationFailed(message, e.nodes);
      });
    }
    const guarded: CheckedOperation = { source: request.query, document, operation };
    try {
      await this.allow(guarded, caller);
    } catch (error) {
      return refused(error);
    }
    return guarded;
  }
}
