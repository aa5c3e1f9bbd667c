import { type FormEvent, useState } from "react";

/** Shown when the server runs with `AUTH=apikey`: trades an API key for a bearer token. */
export function LoginBox({ error, onSignIn }: { error: string | undefined; onSignIn(apiKey: string): Promise<void> }) {
  const [apiKey, setApiKey] = useState("");
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    try {
      await onSignIn(apiKey.trim());
    } finally {
      setPending(false);
    }
  };
  return (
    <main className="login">
      <form onSubmit={submit}>
        <h1>Session Bridge</h1>
        <p>
          This server needs an API key. Create one with <code>npx session-bridge users create &lt;name&gt;</code>.
        </p>
        <label>
          API key
          <input
            type="password"
            autoComplete="off"
            value={apiKey}
            onChange={(event) => setApiKey(event.target.value)}
          />
        </label>
        <button type="submit" disabled={pending || apiKey.trim() === ""}>
          Sign in
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
