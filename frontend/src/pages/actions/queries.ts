import { graphql } from "../../gql";

graphql(`
  fragment ActionRunFields on ActionRun {
    id
    actionId
    trigger
    status
    scheduledFor
    attempts
    deliveries
    nextAttemptAt
    output
    error
    createdAt
    startedAt
    finishedAt
    event
    deliveryLog {
      attempt
      at
      channel
      target
      statusCode
      latencyMs
      responseHead
      error
      refused
    }
  }
`);

graphql(`
  fragment ActionFields on Action {
    id
    name
    kind
    params
    triggers {
      id
      type
      cron
      timezone
      event
      datasource
      words
      nextTimes
    }
    enabled
    owner
    secretHint
    createdAt
    updatedAt
    lastRun {
      id
      status
      trigger
      attempts
      nextAttemptAt
      output
      createdAt
      finishedAt
    }
  }
`);

export const ListActionsQuery = graphql(`
  query ListActions($limit: Int!, $offset: Int!) {
    actions(limit: $limit, offset: $offset) {
      items {
        ...ActionFields
      }
      total
    }
  }
`);

export const ActionRunsQuery = graphql(`
  query ActionRuns($actionId: ID!, $limit: Int!, $offset: Int!) {
    actionRuns(actionId: $actionId, limit: $limit, offset: $offset) {
      items {
        ...ActionRunFields
      }
      total
    }
  }
`);

export const DescribeScheduleQuery = graphql(`
  query DescribeSchedule($cron: String!, $timezone: String!) {
    describeSchedule(cron: $cron, timezone: $timezone) {
      valid
      error
      words
      nextTimes
    }
  }
`);

export const CreateActionMutation = graphql(`
  mutation CreateAction($input: ActionInput!) {
    createAction(input: $input) {
      action {
        ...ActionFields
      }
      secret
    }
  }
`);

export const UpdateActionMutation = graphql(`
  mutation UpdateAction($id: ID!, $input: ActionPatchInput!) {
    updateAction(id: $id, input: $input) {
      ...ActionFields
    }
  }
`);

export const DeleteActionMutation = graphql(`
  mutation DeleteAction($id: ID!) {
    deleteAction(id: $id)
  }
`);

export const ExecuteActionMutation = graphql(`
  mutation ExecuteAction($id: ID!) {
    executeAction(id: $id) {
      ...ActionRunFields
    }
  }
`);

export const RedeliverRunMutation = graphql(`
  mutation RedeliverRun($actionId: ID!, $runId: ID!) {
    redeliverRun(actionId: $actionId, runId: $runId) {
      ...ActionRunFields
    }
  }
`);

export const RotateActionSecretMutation = graphql(`
  mutation RotateActionSecret($id: ID!) {
    rotateActionSecret(id: $id)
  }
`);
