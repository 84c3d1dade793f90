import { graphql } from "../../gql";

graphql(`
  fragment WorkbookFields on Workbook {
    id
    title
    description
    datasource
    filters
    widgets
    tags
    visibility
    sharedWith
    owner
    version
    updatedAt
    views
    favorites
    favorited
  }
`);

export const WorkbookQuery = graphql(`
  query WorkbookPage($id: ID!) {
    workbook(id: $id) {
      ...WorkbookFields
    }
    me {
      name
      role
    }
  }
`);

export const MeQuery = graphql(`
  query WorkbookMe {
    me {
      name
      role
    }
  }
`);

export const ViewWorkbookMutation = graphql(`
  mutation ViewWorkbook($id: ID!) {
    viewWorkbook(id: $id) {
      counted
      views
    }
  }
`);

export const FavoriteWorkbookMutation = graphql(`
  mutation FavoriteWorkbook($id: ID!, $favorite: Boolean!) {
    favoriteWorkbook(id: $id, favorite: $favorite) {
      id
      favorited
      favorites
    }
  }
`);

export const UpdateWorkbookMutation = graphql(`
  mutation UpdateWorkbook($id: ID!, $edit: JSON!) {
    updateWorkbook(id: $id, edit: $edit) {
      ...WorkbookFields
    }
  }
`);

export const CreateWorkbookMutation = graphql(`
  mutation CreateWorkbook($workbook: JSON!) {
    createWorkbook(workbook: $workbook) {
      id
      version
    }
  }
`);

export const AnalyticsQuery = graphql(`
  query WorkbookWidget($query: AnalyticsQueryInput!) {
    analytics(query: $query) {
      columns
      rows
    }
  }
`);

export const DatasourceColumnsQuery = graphql(`
  query WorkbookColumns($name: String!) {
    datasource(name: $name) {
      name
      columns {
        name
        type
      }
    }
  }
`);
