// The app's own backend (the operator's server) decides which instance this user may see and hands
// out a short-lived instance token for it; the page never holds the edge's admin token. Asked
// again whenever the edge answers 401 (the token expired).
export async function sessionConfig() {
  const response = await fetch("/backend/session", { method: "POST", headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`the backend answered ${response.status}`);
  return response.json(); // { baseUrl, instanceId, token }
}
