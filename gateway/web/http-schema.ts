import type { ApolloServerOptionsWithGateway, ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  execute,
  extendSchema,
  Kind,
  parse,
  printSchema,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { badRequest } from '../../shared/errors.js';
import { SUBSCRIPTION_SDL } from '../subscriptions/index.js';

/** What Apollo Server takes as a gateway (the interface @apollo/gateway implements). */
export type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** The graph's API schema with the subscription part the gateway serves over graphql-ws. */
export function withSubscriptionType(apiSchema: GraphQLSchema): GraphQLSchema {
  return extendSchema(apiSchema, parse(SUBSCRIPTION_SDL));
}

/**
 * The schema clients see, as SDL: the API schema (no federation internals) with its `Subscription`.
 * What docs/schema.graphql holds (scripts/compose.ts).
 */
export function publishedSdl(apiSchema: GraphQLSchema): string {
  return `${printSchema(withSubscriptionType(apiSchema)).trimEnd()}\n`;
}

/** Whether every root field of `operation` is an introspection one (`__schema`, `__type`, `__typename`). */
export function onlyIntrospection(operation: OperationDefinitionNode): boolean {
  return operation.selectionSet.selections.every(
    (selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__'),
  );
}

/**
 * The gateway as Apollo Server sees it, with `Subscription` in its schema, so HTTP introspection (IDEs,
 * codegen) shows `caseEvents` and the other subscriptions: an operation that only introspects runs on
 * that schema here (@apollo/gateway would answer it from its own, which has no subscriptions). Every
 * other operation runs on the gateway's executor and query planner; a subscription never reaches it
 * (subscriptionsOverHttpRefused).
 */
export function withSubscriptionsInSchema(gateway: GatewayInterface): GatewayInterface {
  let schema: GraphQLSchema | undefined;
  return {
    onSchemaLoadOrUpdate: (callback) =>
      gateway.onSchemaLoadOrUpdate((context) => {
        schema = withSubscriptionType(context.apiSchema);
        callback({ ...context, apiSchema: schema });
      }),
    load: async (options) => {
      const { executor } = await gateway.load(options);
      if (!executor) return { executor };
      return {
        executor: async (context) => {
          if (!schema || !onlyIntrospection(context.operation)) return executor(context);
          return execute({
            schema,
            document: context.document,
            operationName: context.request.operationName ?? null,
            variableValues: context.request.variables ?? null,
          });
        },
      };
    },
    stop: () => gateway.stop(),
  };
}

/** A subscription sent over HTTP: 400, saying where subscriptions are served. */
export function subscriptionsOverHttpRefused<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation }) => {
        if (operation?.operation !== 'subscription') return;
        throw badRequest(
          'Subscriptions are served over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on this ' +
            'same URL, not over HTTP: connect with a graphql-ws client and send the bearer token as ' +
            'connectionParams { "authorization": "Bearer <token>" }',
          { http: { status: 400 } },
        );
      },
    }),
  };
}
