import { graphql } from "../../gql";

export const WorkbookCardFields = graphql(`
  fragment WorkbookCardFields on Workbook {
    id
    title
    description
    datasource
    tags
    owner
    ownerDisplayName
    views
    favorited
    updatedAt
  }
`);

export const WorkbooksQuery = graphql(`
  query Workbooks(
    $tags: [String!]
    $author: String
    $q: String
    $favorites: Boolean!
    $sort: String!
    $limit: Int!
    $offset: Int!
  ) {
    workbooks(tags: $tags, author: $author, q: $q, favorites: $favorites, sort: $sort, limit: $limit, offset: $offset) {
      items {
        ...WorkbookCardFields
      }
      total
      limit
      offset
      nextOffset
    }
  }
`);

export const WorkbookTagsQuery = graphql(`
  query WorkbookTags {
    workbookTags(limit: 20) {
      name
      count
    }
  }
`);

export const WorkbookFeedQuery = graphql(`
  query WorkbookFeed {
    workbookFeed {
      recent {
        ...WorkbookCardFields
      }
      favorites {
        ...WorkbookCardFields
      }
      popular {
        ...WorkbookCardFields
      }
      sharedWithMe {
        ...WorkbookCardFields
      }
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
