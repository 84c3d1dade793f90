import { Link } from "react-router";

import { formatDate, formatInteger } from "../../format";
import type { WorkbookCardFieldsFragment } from "../../gql/graphql";
import { Avatar } from "./Avatar";
import { FavoriteButton } from "./FavoriteButton";

export type WorkbookCardData = WorkbookCardFieldsFragment;

/** One workbook in the list: what it is, whose, how much it is seen, and the favorite star. */
export function WorkbookCard({ workbook }: { workbook: WorkbookCardData }) {
  const views = workbook.views === 1 ? "1 view" : `${formatInteger(workbook.views)} views`;
  return (
    <article className="workbook-card" data-workbook={workbook.id}>
      <header className="workbook-card-header">
        <h3>
          <Link to={`/workbooks/${encodeURIComponent(workbook.id)}`}>{workbook.title}</Link>
        </h3>
        <FavoriteButton id={workbook.id} title={workbook.title} favorited={workbook.favorited} />
      </header>
      {workbook.description ? <p className="workbook-description">{workbook.description}</p> : null}
      <p className="workbook-owner">
        <Avatar name={workbook.ownerDisplayName || workbook.owner} />
        <Link to={`/users/${encodeURIComponent(workbook.owner)}`} title={`@${workbook.owner}`}>
          {workbook.ownerDisplayName || workbook.owner}
        </Link>
      </p>
      <dl className="workbook-facts">
        <dt>Datasource</dt>
        <dd>{workbook.datasource}</dd>
        <dt>Seen</dt>
        <dd>{views}</dd>
        <dt>Updated</dt>
        <dd>
          <time dateTime={workbook.updatedAt}>{formatDate(workbook.updatedAt)}</time>
        </dd>
      </dl>
      {workbook.tags.length > 0 ? (
        <ul className="workbook-tags" aria-label="Tags">
          {workbook.tags.map((tag) => (
            <li key={tag}>{tag}</li>
          ))}
        </ul>
      ) : null}
    </article>
  );
}
