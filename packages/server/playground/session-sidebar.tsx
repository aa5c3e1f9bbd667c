import { type FormEvent, useState } from "react";
import type { SessionSummary } from "./api.ts";

export interface SessionSidebarProps {
  sessions: SessionSummary[];
  activeId: string | null;
  onNew(): void;
  onOpen(id: string): void;
  onRename(id: string, title: string): void;
  onDelete(id: string): void;
  /** Shown when signed in with a token (`AUTH=apikey`). */
  onSignOut: (() => void) | undefined;
}

/** The caller's sessions, most recently used first: new, switch, rename, delete. */
export function SessionSidebar(props: SessionSidebarProps) {
  const { sessions, activeId, onNew, onOpen, onRename, onDelete, onSignOut } = props;
  return (
    <nav className="sidebar" aria-label="Sessions">
      <button type="button" className="new-chat" onClick={onNew}>
        New chat
      </button>
      <ul className="sessions">
        {sessions.map((session) => (
          <SessionItem
            key={session.id}
            session={session}
            active={session.id === activeId}
            onOpen={() => onOpen(session.id)}
            onRename={(title) => onRename(session.id, title)}
            onDelete={() => onDelete(session.id)}
          />
        ))}
      </ul>
      {onSignOut && (
        <button type="button" className="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      )}
    </nav>
  );
}

interface SessionItemProps {
  session: SessionSummary;
  active: boolean;
  onOpen(): void;
  onRename(title: string): void;
  onDelete(): void;
}

function SessionItem({ session, active, onOpen, onRename, onDelete }: SessionItemProps) {
  const [draft, setDraft] = useState<string>();
  const save = (event: FormEvent) => {
    event.preventDefault();
    const title = draft?.trim();
    if (title && title !== session.title) onRename(title);
    setDraft(undefined);
  };

  if (draft !== undefined) {
    return (
      <li className="session editing" data-session-id={session.id}>
        <form onSubmit={save}>
          <input
            aria-label="Session title"
            value={draft}
            maxLength={200}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Escape") setDraft(undefined);
            }}
          />
          <button type="submit">Save</button>
        </form>
      </li>
    );
  }
  return (
    <li className={active ? "session active" : "session"} data-session-id={session.id}>
      <button type="button" className="title" aria-current={active ? "page" : undefined} onClick={onOpen}>
        {session.title}
      </button>
      <button
        type="button"
        className="icon"
        aria-label={`Rename ${session.title}`}
        onClick={() => setDraft(session.title)}
      >
        ✎
      </button>
      <button type="button" className="icon" aria-label={`Delete ${session.title}`} onClick={onDelete}>
        ×
      </button>
    </li>
  );
}
