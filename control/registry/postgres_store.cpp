// PostgreSQL implementation of the server table. The operations are stored procedures in
// PL/pgSQL (seed 000: "a set of stored procedures, logically separate from the server
// table"); each call is one statement and so one transaction, and each procedure first
// locks the table against other writers, so concurrent calls from many registries or
// tools serialize. The procedures mirror sqlite_store.cpp step by step (Fig. 4 and 6).
#include "control/registry/server_store.h"

#ifdef RINGGATE_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include <cstdlib>
#include <string>

namespace ringgate::registry {

#ifdef RINGGATE_HAVE_LIBPQ
namespace {

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS ringgate_servers (
    server  bigint PRIMARY KEY,   -- IPv4 address, host byte order
    buddy_a bigint NOT NULL,
    buddy_b bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ringgate_meta (
    id      int PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO ringgate_meta (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION ringgate_bump() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    UPDATE ringgate_meta SET version = version + 1 WHERE id = 1 RETURNING version INTO v;
    RETURN v;
END $$;

-- Seed 000 Fig. 3/4 (ServerAnnounce).
CREATE OR REPLACE FUNCTION ringgate_announce(p_server bigint, p_pick bigint,
    OUT already_present boolean, OUT buddy_a bigint, OUT buddy_b bigint, OUT version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    others bigint;
    random_server bigint := p_server;
    random_buddy bigint := p_server;
BEGIN
    LOCK TABLE ringgate_servers IN SHARE ROW EXCLUSIVE MODE;
    SELECT s.buddy_a, s.buddy_b INTO buddy_a, buddy_b FROM ringgate_servers s WHERE s.server = p_server;
    IF FOUND THEN
        already_present := true;
        SELECT m.version INTO version FROM ringgate_meta m WHERE m.id = 1;
        RETURN;
    END IF;
    already_present := false;
    SELECT count(*) INTO others FROM ringgate_servers;
    IF others > 0 THEN
        -- Step 410: RandomServer; step 415: its buddy A is RandomBuddy.
        SELECT s.server, s.buddy_a INTO random_server, random_buddy
          FROM ringgate_servers s ORDER BY s.server LIMIT 1 OFFSET (p_pick % others);
        -- Step 420: in RandomBuddy's entry RandomServer becomes NewServer (slot B first).
        UPDATE ringgate_servers s SET
            buddy_b = CASE WHEN s.buddy_b = random_server THEN p_server ELSE s.buddy_b END,
            buddy_a = CASE WHEN s.buddy_b <> random_server AND s.buddy_a = random_server
                           THEN p_server ELSE s.buddy_a END
          WHERE s.server = random_buddy;
        -- Step 425: in RandomServer's entry RandomBuddy (its buddy A) becomes NewServer.
        UPDATE ringgate_servers s SET buddy_a = p_server WHERE s.server = random_server;
    END IF;
    -- Steps 405/430.
    INSERT INTO ringgate_servers (server, buddy_a, buddy_b) VALUES (p_server, random_server, random_buddy);
    buddy_a := random_server;
    buddy_b := random_buddy;
    version := ringgate_bump();
END $$;

-- Seed 000 Fig. 6 (ServerDelete).
CREATE OR REPLACE FUNCTION ringgate_delete(p_server bigint,
    OUT was_present boolean, OUT buddy_a bigint, OUT buddy_b bigint, OUT version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ringgate_servers IN SHARE ROW EXCLUSIVE MODE;
    SELECT s.buddy_a, s.buddy_b INTO buddy_a, buddy_b FROM ringgate_servers s WHERE s.server = p_server;
    IF NOT FOUND THEN
        was_present := false;
        buddy_a := 0;
        buddy_b := 0;
        SELECT m.version INTO version FROM ringgate_meta m WHERE m.id = 1;
        RETURN;
    END IF;
    was_present := true;
    -- Step 615: in each buddy's entry the dead server becomes the other buddy.
    IF buddy_a <> p_server THEN
        UPDATE ringgate_servers s SET
            buddy_a = CASE WHEN s.buddy_a = p_server THEN ringgate_delete.buddy_b ELSE s.buddy_a END,
            buddy_b = CASE WHEN s.buddy_b = p_server THEN ringgate_delete.buddy_b ELSE s.buddy_b END
          WHERE s.server = ringgate_delete.buddy_a;
    END IF;
    IF buddy_b <> p_server THEN
        UPDATE ringgate_servers s SET
            buddy_a = CASE WHEN s.buddy_a = p_server THEN ringgate_delete.buddy_a ELSE s.buddy_a END,
            buddy_b = CASE WHEN s.buddy_b = p_server THEN ringgate_delete.buddy_a ELSE s.buddy_b END
          WHERE s.server = ringgate_delete.buddy_b;
    END IF;
    DELETE FROM ringgate_servers s WHERE s.server = p_server;  -- step 620
    version := ringgate_bump();                                -- step 625 returns the buddies
END $$;

-- A server taking over another's ring position.
CREATE OR REPLACE FUNCTION ringgate_replace(p_old bigint, p_new bigint,
    OUT buddy_a bigint, OUT buddy_b bigint, OUT version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ringgate_servers IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM ringgate_servers s WHERE s.server = p_old) THEN
        RAISE EXCEPTION 'replace: % is not in the table', p_old;
    END IF;
    IF EXISTS (SELECT 1 FROM ringgate_servers s WHERE s.server = p_new) THEN
        RAISE EXCEPTION 'replace: % is already in the table', p_new;
    END IF;
    UPDATE ringgate_servers s SET
        buddy_a = CASE WHEN s.buddy_a = p_old THEN p_new ELSE s.buddy_a END,
        buddy_b = CASE WHEN s.buddy_b = p_old THEN p_new ELSE s.buddy_b END
      WHERE s.buddy_a = p_old OR s.buddy_b = p_old;
    UPDATE ringgate_servers s SET server = p_new WHERE s.server = p_old;
    SELECT s.buddy_a, s.buddy_b INTO buddy_a, buddy_b FROM ringgate_servers s WHERE s.server = p_new;
    version := ringgate_bump();
END $$;

CREATE OR REPLACE FUNCTION ringgate_load(p_servers bigint[], p_buddy_a bigint[], p_buddy_b bigint[],
    p_version bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ringgate_servers IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM ringgate_servers;
    INSERT INTO ringgate_servers (server, buddy_a, buddy_b)
        SELECT * FROM unnest(p_servers, p_buddy_a, p_buddy_b);
    UPDATE ringgate_meta SET version = p_version WHERE id = 1;
END $$;
)SQL";

class Result {
public:
    explicit Result(PGresult* result) : result_(result) {}
    ~Result() { PQclear(result_); }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    PGresult* get() const { return result_; }
    bool ok() const {
        auto status = PQresultStatus(result_);
        return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
    }
    int rows() const { return PQntuples(result_); }
    int64_t integer(int row, int column) const { return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10); }
    bool boolean(int row, int column) const { return PQgetvalue(result_, row, column)[0] == 't'; }

private:
    PGresult* result_;
};

std::string text(Ipv4Address address) { return std::to_string(address.value); }
Ipv4Address addr(int64_t value) { return Ipv4Address{static_cast<uint32_t>(value)}; }

class PostgresStore final : public ServerStore {
public:
    explicit PostgresStore(PGconn* conn) : conn_(conn) {}
    ~PostgresStore() override { PQfinish(conn_); }

    Expected<void> init() {
        // Quiet the NOTICEs of "IF NOT EXISTS"; serialize schema installation between
        // registries starting together (CREATE OR REPLACE FUNCTION is not concurrent-safe).
        PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
        for (const char* sql : {"SELECT pg_advisory_lock(7301)", kSchema, "SELECT pg_advisory_unlock(7301)"}) {
            Result result(PQexec(conn_, sql));
            if (!result.ok()) return failure("install schema", result);
        }
        return {};
    }

    const char* kind() const override { return "postgresql"; }

    Expected<AnnounceResult> announce(Ipv4Address server, uint64_t pick) override {
        // The pick travels as a non-negative bigint; only its value modulo the count matters.
        auto r = call("SELECT * FROM ringgate_announce($1, $2)",
                      {text(server), std::to_string(pick & 0x7fffffffffffffffULL)});
        if (!r) return r.error();
        const Result& res = **r;
        return AnnounceResult{res.boolean(0, 0), addr(res.integer(0, 1)), addr(res.integer(0, 2)),
                              static_cast<uint64_t>(res.integer(0, 3))};
    }

    Expected<DeleteResult> remove(Ipv4Address server) override {
        auto r = call("SELECT * FROM ringgate_delete($1)", {text(server)});
        if (!r) return r.error();
        const Result& res = **r;
        return DeleteResult{res.boolean(0, 0), addr(res.integer(0, 1)), addr(res.integer(0, 2)),
                            static_cast<uint64_t>(res.integer(0, 3))};
    }

    Expected<AnnounceResult> replace(Ipv4Address old, Ipv4Address replacement) override {
        auto r = call("SELECT * FROM ringgate_replace($1, $2)", {text(old), text(replacement)});
        if (!r) return r.error();
        const Result& res = **r;
        return AnnounceResult{false, addr(res.integer(0, 0)), addr(res.integer(0, 1)),
                              static_cast<uint64_t>(res.integer(0, 2))};
    }

    Expected<EntryResult> entry(Ipv4Address server) override {
        auto r = call("SELECT m.version, s.buddy_a, s.buddy_b FROM ringgate_meta m "
                      "LEFT JOIN ringgate_servers s ON s.server = $1 WHERE m.id = 1",
                      {text(server)});
        if (!r) return r.error();
        const Result& res = **r;
        EntryResult result;
        result.version = static_cast<uint64_t>(res.integer(0, 0));
        result.found = !PQgetisnull(res.get(), 0, 1);
        if (result.found) result.entry = {server, addr(res.integer(0, 1)), addr(res.integer(0, 2))};
        return result;
    }

    Expected<TableSnapshot> snapshot() override {
        // One statement, so the version and the rows come from the same snapshot.
        auto r = call("SELECT m.version, s.server, s.buddy_a, s.buddy_b FROM ringgate_meta m "
                      "LEFT JOIN ringgate_servers s ON true WHERE m.id = 1 ORDER BY s.server",
                      {});
        if (!r) return r.error();
        const Result& res = **r;
        TableSnapshot snapshot;
        for (int row = 0; row < res.rows(); ++row) {
            snapshot.version = static_cast<uint64_t>(res.integer(row, 0));
            if (PQgetisnull(res.get(), row, 1)) continue;
            snapshot.entries.push_back({addr(res.integer(row, 1)), addr(res.integer(row, 2)), addr(res.integer(row, 3))});
        }
        return snapshot;
    }

    Expected<void> load(const TableSnapshot& snapshot) override {
        std::string servers = "{", buddyA = "{", buddyB = "{";
        for (size_t i = 0; i < snapshot.entries.size(); ++i) {
            const char* comma = i ? "," : "";
            servers += comma + text(snapshot.entries[i].server);
            buddyA += comma + text(snapshot.entries[i].buddyA);
            buddyB += comma + text(snapshot.entries[i].buddyB);
        }
        auto r = call("SELECT ringgate_load($1::bigint[], $2::bigint[], $3::bigint[], $4)",
                      {servers + "}", buddyA + "}", buddyB + "}", std::to_string(snapshot.version)});
        if (!r) return r.error();
        return {};
    }

private:
    Error failure(const std::string& what, const Result& result) const {
        std::string message = PQresultErrorMessage(result.get());
        if (message.empty()) message = PQerrorMessage(conn_);
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
        return makeError("postgresql: " + what + ": " + message);
    }

    Expected<std::unique_ptr<Result>> call(const char* sql, const std::vector<std::string>& params) {
        // A registry outlives a database restart: reconnect once before giving up.
        if (PQstatus(conn_) != CONNECTION_OK) PQreset(conn_);
        std::vector<const char*> values;
        for (const auto& p : params) values.push_back(p.c_str());
        auto result = std::make_unique<Result>(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr,
                                                            values.data(), nullptr, nullptr, 0));
        if (!result->ok()) return failure(sql, *result);
        if (result->rows() < 1 && PQresultStatus(result->get()) == PGRES_TUPLES_OK)
            return makeError(std::string("postgresql: ") + sql + ": no row");
        return result;
    }

    PGconn* conn_;
};

}  // namespace

Expected<std::unique_ptr<ServerStore>> openPostgresStore(const std::string& conninfo) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn);
        while (!message.empty() && message.back() == '\n') message.pop_back();
        PQfinish(conn);
        return makeError("connect to postgresql (" + conninfo + "): " + message);
    }
    auto store = std::make_unique<PostgresStore>(conn);
    if (auto ready = store->init(); !ready) return ready.error();
    return std::unique_ptr<ServerStore>(std::move(store));
}

bool postgresStoreAvailable() { return true; }

#else

Expected<std::unique_ptr<ServerStore>> openPostgresStore(const std::string&) {
    return makeError("this build has no PostgreSQL support (libpq was not found; -Dpostgresql)");
}

bool postgresStoreAvailable() { return false; }

#endif

}  // namespace ringgate::registry
