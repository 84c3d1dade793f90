import { useEffect, useId, useRef, useState } from "react";

interface Props {
  /** The action the secret signs for. */
  name: string;
  secret: string;
  onDone: () => void;
}

/** A signing secret, shown this once, with a button that copies it. */
export function SecretNotice({ name, secret, onDone }: Props) {
  const id = useId();
  const [copied, setCopied] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("Copied.");
    } catch {
      setCopied("The browser did not let us copy: select the secret and copy it yourself.");
    }
  };
  return (
    <section className="notice secret-notice" aria-labelledby={id} data-secret-notice>
      <h2 id={id} ref={heading} tabIndex={-1}>
        The signing secret of {name}
      </h2>
      <p>
        <strong>Copy it now: it will not be shown again.</strong> Receivers check each request's webhook-signature
        header with it (the Standard Webhooks specification).
      </p>
      <p>
        <code className="secret" data-testid="action-secret">
          {secret}
        </code>
      </p>
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy the secret
        </button>
        <button type="button" onClick={onDone}>
          I have copied it
        </button>
      </div>
      <p role="status">{copied}</p>
    </section>
  );
}
