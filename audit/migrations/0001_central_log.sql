-- The central decision log: the Merkle tree's tiles, the records and stored inputs, the entries
-- with the columns auditors filter on, the signed checkpoints, and the service's bearer tokens.

CREATE TABLE log_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    origin text NOT NULL,
    vkey text NOT NULL,
    size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    checkpoint text
);

-- C2SP tlog-tiles: level -1 holds the entry bundles; each row is the widest tile (level, N) the
-- log has, and narrower (partial) widths are served as its prefix.
CREATE TABLE tiles (
    level smallint NOT NULL CHECK (level >= -1),
    n bigint NOT NULL CHECK (n >= 0),
    width smallint NOT NULL CHECK (width BETWEEN 1 AND 256),
    data bytea NOT NULL,
    PRIMARY KEY (level, n)
);

CREATE TABLE records (
    digest text PRIMARY KEY,
    data bytea NOT NULL
);

CREATE TABLE inputs (
    digest text PRIMARY KEY,
    data bytea NOT NULL
);

CREATE TABLE entries (
    idx bigint PRIMARY KEY CHECK (idx >= 0),
    record_id text NOT NULL UNIQUE,
    record text NOT NULL REFERENCES records (digest),
    input text REFERENCES inputs (digest),
    time timestamptz,
    environment text,
    outcome text,
    repository text,
    service text,
    signer text,
    checks text[] NOT NULL DEFAULT '{}',
    blocking integer,
    warnings integer,
    appended_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX entries_service ON entries (service, idx);
CREATE INDEX entries_repository ON entries (repository, idx);
CREATE INDEX entries_environment ON entries (environment, outcome, idx);
CREATE INDEX entries_outcome ON entries (outcome, idx);
CREATE INDEX entries_time ON entries (time, idx);
CREATE INDEX entries_signer ON entries (signer, idx);
CREATE INDEX entries_checks ON entries USING gin (checks);

CREATE TABLE checkpoints (
    size bigint PRIMARY KEY CHECK (size > 0),
    note text NOT NULL,
    made_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
    id text PRIMARY KEY,
    name text NOT NULL,
    digest bytea NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
