/** What an instance token may allow (the edge's route → scope table is in docs/security.md). */
export type InstanceTokenScope = "view" | "send" | "link" | "control";

export declare const INSTANCE_TOKEN_SCOPES: readonly InstanceTokenScope[];
/** 3600 (1 h). */
export declare const INSTANCE_TOKEN_DEFAULT_TTL_SECONDS: number;
/** 86400 (24 h). */
export declare const INSTANCE_TOKEN_MAX_TTL_SECONDS: number;

/**
 * The key both sides use: `signingKey` (the worker's TOKEN_SIGNING_KEY) when given, else a key
 * derived from `adminToken` (the worker's ADMIN_TOKEN). At least 16 characters.
 */
export interface InstanceTokenKey {
  signingKey?: string;
  adminToken?: string;
}

export interface MintInstanceTokenOptions extends InstanceTokenKey {
  instanceId: string;
  /** Default: all four. */
  scopes?: InstanceTokenScope[];
  /** Default 3600, at most 86400. */
  ttlSeconds?: number;
  /** Default `Date.now()`. */
  nowMs?: number;
}

export interface VerifyInstanceTokenOptions extends InstanceTokenKey {
  /** Default `Date.now()`. */
  nowMs?: number;
  /** When given, a token bound to another instance is `forbidden`. */
  instanceId?: string;
  /** When given, a token without this scope is `forbidden`. */
  scope?: InstanceTokenScope;
}

export interface InstanceToken {
  /** A compact JWT (HS256); send it as `Authorization: Bearer <token>`. */
  token: string;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
}

export interface InstanceTokenClaims {
  instanceId: string;
  scopes: InstanceTokenScope[];
  /** ms since the epoch. */
  issuedAt: number;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Mints a token bound to one instance. Errors: invalid_option. */
export declare function mintInstanceToken(options: MintInstanceTokenOptions): Promise<InstanceToken>;
/** Errors: unauthorized (malformed, tampered, expired), forbidden (other instance, missing scope), invalid_option (no key). */
export declare function verifyInstanceToken(token: string, options: VerifyInstanceTokenOptions): Promise<InstanceTokenClaims>;
