export interface Config {
  /** Settings of the govgate:check scaffolder action. */
  govgate?: {
    /**
     * Base URL of gate serve, e.g. http://govgate:8080 (GOVGATE_URL when unset).
     */
    baseUrl?: string;
    /**
     * Bearer token gate serve was started with (GOVGATE_TOKEN when unset).
     * @visibility secret
     */
    token?: string;
    /** Environment whose tier table applies when a step gives none, e.g. prod. */
    environment?: string;
    /** How long to wait for a decision, in milliseconds (default 60000). */
    timeoutMs?: number;
    /** Most files one check sends (default 500). */
    maxFiles?: number;
    /** Most bytes one check sends (default 8 MiB). */
    maxBytes?: number;
  };
}
