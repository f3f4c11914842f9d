// One WhatsApp session, shown the way the vendor's lifecycle guide recommends: the panel follows
// the snapshot's uiAction, which the package's decoder derives from the status.
import { useState } from "react";
import { identityText, messageStateLabel, rejectionText, statusLabel } from "wawp-session";
import { useSession } from "wawp-session/react";

export function App({ session }) {
  const { status, uiAction, qr, me, identity, messages, connection, actions } = useSession(session);
  return (
    <main>
      <h1>WhatsApp</h1>
      <p>
        <strong id="status" data-status={status}>{statusLabel(status)}</strong>{" "}
        <small id="connection">{connection}</small>
      </p>
      <Panel uiAction={uiAction} qr={qr} me={me} actions={actions} />
      {identity && <p id="identity" data-verdict={identity}>{identityText(identity)}</p>}
      {status !== "STOPPED" && status !== "DELETED" && (
        <button id="power-off" type="button" onClick={() => actions.stop()}>Power off</button>
      )}
      <SendForm send={actions.send} />
      <ul id="messages">
        {messages.map((m) => (
          <li key={m.id} data-state={m.state}>
            <span className="text">{m.text}</span> — {messageStateLabel(m.state)}
            {m.state === "rejected" && m.code ? `: ${rejectionText(m.code)}` : ""}
          </li>
        ))}
      </ul>
    </main>
  );
}

function Panel({ uiAction, qr, me, actions }) {
  switch (uiAction) {
    case "start":
      return <button id="power-on" type="button" onClick={() => actions.start()}>Power On</button>;
    case "connecting":
      return <p id="connecting">Connecting…</p>;
    case "scan_qr":
      return (
        <section>
          <p>Scan with WhatsApp on your phone</p>
          {qr ? <img id="qr" src={qr} alt="QR code to link WhatsApp" width="220" height="220" /> : <p>Loading the code…</p>}
        </section>
      );
    case "connected":
      return <p id="connected">Connected as <span id="account">{me?.id ?? "…"}</span>{me?.pushName ? ` (${me.pushName})` : ""}</p>;
    case "troubleshoot":
      return <button id="retry" type="button" onClick={() => actions.retry()}>Retry</button>;
    default:
      return <p id="other">{uiAction}</p>;
  }
}

function SendForm({ send }) {
  const [chatId, setChatId] = useState("15557654321@c.us");
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setText("");
    try {
      await send({ chatId, text });
    } catch (err) {
      setError(err.message);
    }
  };
  return (
    <form id="send" onSubmit={submit}>
      <label>To <input id="chat" value={chatId} onChange={(e) => setChatId(e.target.value)} /></label>
      <label>Message <input id="text" value={text} onChange={(e) => setText(e.target.value)} required /></label>
      <button type="submit">Send</button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}
