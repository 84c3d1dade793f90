// What the Status and Performance pages say, in words a person knows: the service's parts,
// the stages of an upload, the engine, and where a page of the access log stands.
import { formatInteger } from "../../format";

const COMPONENTS: Record<string, string> = {
  database: "Records database",
  storage: "File storage",
  disk: "Disk space",
  workers: "Background workers",
  druid: "Apache Druid",
};

/** A health check's part of the service, in words (the name itself when it has none). */
export function componentName(name: string): string {
  return COMPONENTS[name] ?? name;
}

/** A backing system of the performance page ("metadata (sqlite)" before). */
export function sourceName(id: string, type: string): string {
  if (id === "metadata") return `Records database (${type === "postgresql" ? "PostgreSQL" : "SQLite"})`;
  if (id === "storage") return type === "s3" ? "File storage (S3)" : "File storage (a folder on this server)";
  if (id === "druid") return "Apache Druid";
  return `${id} (${type})`;
}

const STAGES: Record<string, string> = {
  queued: "Waiting for a worker",
  validating: "Checking the rows",
  loading: "Storing",
  druid_submitting: "Sending to Druid",
  druid_indexing: "Druid indexing",
  druid_loading: "Druid making it queryable",
};

export function stageName(stage: string): string {
  return STAGES[stage] ?? stage.replaceAll("_", " ");
}

/** The stages a run went through: a stage it never reached (Druid's, when Druid is off) is not shown. */
export function reachedStages<S extends { stage: string; seconds: number | null }>(
  stages: S[],
): (S & { seconds: number })[] {
  return stages.filter((s): s is S & { seconds: number } => s.seconds !== null);
}

export const ENGINES: Record<string, string> = { STANDALONE: "embedded (Polars)", WAREHOUSE: "Apache Druid" };

/** Where a page of the access log stands: "Entries 21 to 40 of 57." */
export function accessLogRange(total: number, offset: number, shown: number, search: string): string {
  if (total === 0) {
    return search ? `No entry's person, action or target starts with “${search}”.` : "The access log is empty.";
  }
  const first = formatInteger(offset + 1);
  const last = formatInteger(offset + shown);
  const of = `${formatInteger(total)} ${search ? `starting with “${search}”` : "in all"}`;
  return shown === 1 ? `Entry ${first} of ${of}.` : `Entries ${first} to ${last} of ${of}.`;
}

/** An access log entry's action: "denied" reads "refused", "create_workbook" "create workbook". */
export function actionWords(action: string): string {
  return action === "denied" ? "refused" : action.replaceAll("_", " ");
}
