// The Upload page's large-file path: a session found for the chosen file (continued after a page
// reload) or created for it, then its parts sent with Uppy (partsUpload.ts), with pause, resume,
// retry and cancel.
import { useEffect, useRef, useState } from "react";

import type { UploadAccepted } from "../../api/rest";
import { createSession, getSession, type NewSession, openSessions, type UploadSession } from "./api";
import { PartsUpload } from "./partsUpload";
import { forget, matchSession, readRecords, recordOf, remember } from "./resume";

export interface PartsState {
  session: UploadSession;
  paused: boolean;
  failed: boolean;
}

interface Callbacks {
  onProgress: (sent: number, total: number) => void;
  onError: (error: unknown) => void;
  onDone: (answer: UploadAccepted, session: UploadSession) => void;
}

/** The open session `file` continues, with the parts the server has, or null (also when the
 * sessions cannot be listed: the file is then sent from its start). */
export async function findResumable(file: File, signal?: AbortSignal): Promise<UploadSession | null> {
  try {
    const found = matchSession(file, await openSessions(signal), readRecords());
    return found ? await getSession(found.id, signal) : null;
  } catch {
    return null;
  }
}

export function useParts(callbacks: Callbacks) {
  const latest = useRef(callbacks);
  useEffect(() => {
    latest.current = callbacks;
  });
  const [state, setState] = useState<PartsState | null>(null);
  const uploader = useRef<PartsUpload | null>(null);
  const session = useRef<UploadSession | null>(null);

  useEffect(() => {
    const made = new PartsUpload({
      onProgress: (sent, total) => latest.current.onProgress(sent, total),
      onPaused: (paused) => setState((s) => (s ? { ...s, paused } : s)),
      onError: (error) => {
        setState((s) => (s ? { ...s, failed: true } : s));
        latest.current.onError(error);
      },
      onDone: (answer) => {
        const done = session.current;
        setState(null);
        if (done) {
          forget(done.id);
          latest.current.onDone(answer, done);
        }
      },
    });
    uploader.current = made;
    return () => made.destroy(); // the session stays open: choosing the file again continues it
  }, []);

  /** Continues `resumable`, or opens a new session with `options`, and sends the file's parts. */
  async function send(file: File, resumable: UploadSession | null, options: Omit<NewSession, "filename" | "size">) {
    const target = resumable ?? (await createSession({ ...options, filename: file.name, size: file.size }));
    const recorded = resumable ? recordOf(resumable.id)?.options : undefined;
    remember({
      id: target.id,
      name: file.name,
      size: file.size,
      lastModified: file.lastModified,
      options: recorded ?? { on_invalid: options.on_invalid, mode: options.mode },
    });
    session.current = target;
    setState({ session: target, paused: false, failed: false });
    latest.current.onProgress(
      target.parts.reduce((sum, p) => sum + p.size, 0),
      file.size,
    );
    await uploader.current?.start(file, target, resumable !== null);
  }

  function pauseResume() {
    uploader.current?.pauseResume();
  }

  function retry() {
    setState((s) => (s ? { ...s, failed: false, paused: false } : s));
    void uploader.current?.retry();
  }

  /** Stops and removes the session; answers how many parts were removed (null: not known). */
  async function cancel(): Promise<number | null> {
    const current = session.current;
    session.current = null;
    setState(null);
    if (current) forget(current.id);
    return (await uploader.current?.cancel()) ?? null;
  }

  return { state, send, pauseResume, retry, cancel };
}
