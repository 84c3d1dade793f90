import { useId, useState, type FormEvent } from "react";

import { ErrorMessage } from "../../components/ErrorMessage";
import { Modal } from "./Modal";
import type { Visibility } from "./types";

export interface Details {
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  shared_with: string[];
}

interface Props {
  /** The dialog's heading and its submit button's text. */
  title: string;
  submitLabel: string;
  /** Which fields it asks for: a new workbook (all), a copy (title) or sharing (visibility). */
  fields: "all" | "title" | "sharing";
  initial: Details;
  open: boolean;
  busy?: boolean;
  error?: unknown;
  onSubmit: (details: Details) => void;
  onClose: () => void;
}

const TAG = /^[a-z0-9-]{1,40}$/;

/** Tags as typed (commas or spaces between them), lower case, spaces inside made dashes. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(",")
        .map((t) => t.trim().toLowerCase().replace(/\s+/g, "-"))
        .filter(Boolean),
    ),
  ];
}

export function parseNames(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\s]+/)
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

const VISIBILITIES: { value: Visibility; label: string }[] = [
  { value: "private", label: "Private: only me" },
  { value: "shared", label: "Shared with everyone signed in" },
  { value: "users", label: "Shared with the people I name" },
];

export function DetailsDialog({ title, submitLabel, fields, initial, open, busy, error, onSubmit, onClose }: Props) {
  const id = useId();
  const [name, setName] = useState(initial.title);
  const [description, setDescription] = useState(initial.description);
  const [tags, setTags] = useState(initial.tags.join(", "));
  const [visibility, setVisibility] = useState<Visibility>(initial.visibility);
  const [users, setUsers] = useState(initial.shared_with.join(", "));
  const [problem, setProblem] = useState<string | null>(null);
  const asks = (what: "title" | "sharing") => fields === "all" || fields === what;

  function submit(event: FormEvent) {
    event.preventDefault();
    const tagList = parseTags(tags);
    const bad = tagList.find((t) => !TAG.test(t));
    if (asks("title") && !name.trim()) return setProblem("Give the workbook a title.");
    if (bad) return setProblem(`The tag “${bad}” may hold only lower-case letters, digits and dashes.`);
    const names = parseNames(users);
    if (asks("sharing") && visibility === "users" && names.length === 0) {
      return setProblem("Name at least one person to share it with.");
    }
    setProblem(null);
    onSubmit({
      title: name.trim(),
      description,
      tags: tagList,
      visibility,
      shared_with: visibility === "users" ? names : [],
    });
  }

  return (
    <Modal title={title} open={open} onClose={onClose}>
      <form className="wb-form" onSubmit={submit} noValidate>
        {asks("title") ? (
          <div className="field">
            <label htmlFor={`${id}-title`}>Title</label>
            <input id={`${id}-title`} value={name} maxLength={200} required onChange={(e) => setName(e.target.value)} />
          </div>
        ) : null}
        {fields === "all" ? (
          <>
            <div className="field">
              <label htmlFor={`${id}-description`}>Description</label>
              <textarea
                id={`${id}-description`}
                value={description}
                maxLength={2000}
                rows={3}
                onChange={(e) => setDescription(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-tags`}>Tags</label>
              <input
                id={`${id}-tags`}
                value={tags}
                aria-describedby={`${id}-tags-hint`}
                onChange={(e) => setTags(e.target.value)}
              />
              <p id={`${id}-tags-hint`} className="hint">
                Separate tags with commas; they hold lower-case letters, digits and dashes.
              </p>
            </div>
          </>
        ) : null}
        {asks("sharing") ? (
          <fieldset>
            <legend>Who may see it</legend>
            {VISIBILITIES.map((v) => (
              <label key={v.value} className="radio">
                <input
                  type="radio"
                  name={`${id}-visibility`}
                  value={v.value}
                  checked={visibility === v.value}
                  onChange={() => setVisibility(v.value)}
                />{" "}
                {v.label}
              </label>
            ))}
            {visibility === "users" ? (
              <div className="field">
                <label htmlFor={`${id}-users`}>People (their user names, separated by commas)</label>
                <input id={`${id}-users`} value={users} onChange={(e) => setUsers(e.target.value)} />
              </div>
            ) : null}
          </fieldset>
        ) : null}
        {problem ? (
          <p className="problem" role="alert">
            {problem}
          </p>
        ) : null}
        {error ? <ErrorMessage error={error} what="The workbook could not be saved" /> : null}
        <div className="dialog-actions">
          <button type="submit" className="primary" disabled={busy}>
            {submitLabel}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
