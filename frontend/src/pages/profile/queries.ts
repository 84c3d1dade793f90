import { graphql } from "../../gql";

export const PublicUserQuery = graphql(`
  query PublicUser($name: String!) {
    user(name: $name) {
      name
      displayName
      role
      createdAt
      workbookCount
      workbooks {
        id
        title
        updatedAt
      }
    }
  }
`);

export const MySettingsQuery = graphql(`
  query MySettings {
    me {
      name
      displayName
      role
      timeZone
      email
      defaultDatasource
      defaultDashboard
    }
    datasources {
      name
    }
  }
`);

export const MyWorkbooksQuery = graphql(`
  query MyWorkbooks($author: String!) {
    workbooks(author: $author, sort: "title", limit: 200) {
      items {
        id
        title
      }
    }
  }
`);

export const UpdateMeMutation = graphql(`
  mutation UpdateMe($input: ProfileInput!) {
    updateMe(input: $input) {
      name
      displayName
      timeZone
      email
      defaultDatasource
      defaultDashboard
    }
  }
`);

export const HeaderMeQuery = graphql(`
  query HeaderMe {
    me {
      name
      displayName
      timeZone
    }
  }
`);
