// SQLite implementation of the server table. Each operation runs inside BEGIN IMMEDIATE
// (the write lock taken up front), so concurrent processes sharing the file serialize
// instead of interleaving reads and writes; busy_timeout makes them wait, not fail.
#include "control/registry/server_store.h"

#include <sqlite3.h>

#include <string>

namespace ringgate::registry {
namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS ringgate_servers (
    server  INTEGER PRIMARY KEY,   -- IPv4 address, host byte order
    buddy_a INTEGER NOT NULL,
    buddy_b INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ringgate_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO ringgate_meta (id, version) VALUES (1, 0);
)";

class Statement {
public:
    Statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool prepared() const { return rc_ == SQLITE_OK; }
    Statement& bind(int index, int64_t value) {
        sqlite3_bind_int64(stmt_, index, value);
        return *this;
    }
    // SQLITE_ROW or SQLITE_DONE on success.
    int step() { return sqlite3_step(stmt_); }
    int64_t column(int index) { return sqlite3_column_int64(stmt_, index); }

private:
    sqlite3_stmt* stmt_ = nullptr;
    int rc_ = SQLITE_ERROR;
};

int64_t sql(Ipv4Address address) { return static_cast<int64_t>(address.value); }
Ipv4Address addr(int64_t value) { return Ipv4Address{static_cast<uint32_t>(value)}; }

class SqliteStore final : public ServerStore {
public:
    explicit SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    ~SqliteStore() override { sqlite3_close(db_); }

    Expected<void> init() {
        sqlite3_busy_timeout(db_, 10000);
        if (auto done = exec("PRAGMA journal_mode=WAL"); !done) return done;
        return exec(kSchema);
    }

    const char* kind() const override { return "sqlite"; }

    Expected<AnnounceResult> announce(Ipv4Address server, uint64_t pick) override {
        return transaction<AnnounceResult>([&]() -> Expected<AnnounceResult> {
            AnnounceResult result;
            if (auto existing = read(server); !existing) {
                return existing.error();
            } else if (existing->found) {
                return AnnounceResult{true, existing->entry.buddyA, existing->entry.buddyB, existing->version};
            }
            int64_t others = 0;
            {
                Statement count(db_, "SELECT count(*) FROM ringgate_servers");
                if (!count.prepared() || count.step() != SQLITE_ROW) return failure("count servers");
                others = count.column(0);
            }
            Ipv4Address randomServer = server, randomBuddy = server;  // alone: its own buddy
            if (others > 0) {
                // Fig. 4 step 410: RandomServer; step 415: its buddy A is RandomBuddy.
                Statement choose(db_, "SELECT server, buddy_a FROM ringgate_servers ORDER BY server "
                                      "LIMIT 1 OFFSET ?");
                if (!choose.prepared()) return failure("choose RandomServer");
                choose.bind(1, static_cast<int64_t>(pick % static_cast<uint64_t>(others)));
                if (choose.step() != SQLITE_ROW) return failure("choose RandomServer");
                randomServer = addr(choose.column(0));
                randomBuddy = addr(choose.column(1));
                // Step 420: in RandomBuddy's entry, RandomServer becomes NewServer (slot B
                // first: with two servers both slots name RandomServer, and only one may go).
                Statement step420(db_,
                    "UPDATE ringgate_servers SET "
                    "buddy_b = CASE WHEN buddy_b = ?1 THEN ?2 ELSE buddy_b END, "
                    "buddy_a = CASE WHEN buddy_b <> ?1 AND buddy_a = ?1 THEN ?2 ELSE buddy_a END "
                    "WHERE server = ?3");
                step420.bind(1, sql(randomServer)).bind(2, sql(server)).bind(3, sql(randomBuddy));
                if (!step420.prepared() || step420.step() != SQLITE_DONE) return failure("step 420");
                // Step 425: in RandomServer's entry, RandomBuddy (its buddy A) becomes NewServer.
                Statement step425(db_, "UPDATE ringgate_servers SET buddy_a = ?1 WHERE server = ?2");
                step425.bind(1, sql(server)).bind(2, sql(randomServer));
                if (!step425.prepared() || step425.step() != SQLITE_DONE) return failure("step 425");
            }
            // Steps 405/430: NewServer's entry is (RandomServer, RandomBuddy).
            Statement insert(db_, "INSERT INTO ringgate_servers (server, buddy_a, buddy_b) VALUES (?, ?, ?)");
            insert.bind(1, sql(server)).bind(2, sql(randomServer)).bind(3, sql(randomBuddy));
            if (!insert.prepared() || insert.step() != SQLITE_DONE) return failure("insert server");
            auto version = bumpVersion();
            if (!version) return version.error();
            result.buddyA = randomServer;
            result.buddyB = randomBuddy;
            result.version = *version;
            return result;
        });
    }

    Expected<DeleteResult> remove(Ipv4Address server) override {
        return transaction<DeleteResult>([&]() -> Expected<DeleteResult> {
            auto existing = read(server);  // Fig. 6 step 610
            if (!existing) return existing.error();
            if (!existing->found) return DeleteResult{false, {}, {}, existing->version};
            Ipv4Address a = existing->entry.buddyA, b = existing->entry.buddyB;
            // Step 615: in each buddy's entry the dead server becomes the other buddy.
            for (auto [buddy, other] : {std::pair{a, b}, std::pair{b, a}}) {
                if (buddy == server) continue;
                Statement update(db_,
                    "UPDATE ringgate_servers SET "
                    "buddy_a = CASE WHEN buddy_a = ?1 THEN ?2 ELSE buddy_a END, "
                    "buddy_b = CASE WHEN buddy_b = ?1 THEN ?2 ELSE buddy_b END WHERE server = ?3");
                update.bind(1, sql(server)).bind(2, sql(other)).bind(3, sql(buddy));
                if (!update.prepared() || update.step() != SQLITE_DONE) return failure("step 615");
            }
            Statement erase(db_, "DELETE FROM ringgate_servers WHERE server = ?");  // step 620
            erase.bind(1, sql(server));
            if (!erase.prepared() || erase.step() != SQLITE_DONE) return failure("step 620");
            auto version = bumpVersion();
            if (!version) return version.error();
            return DeleteResult{true, a, b, *version};  // step 625
        });
    }

    Expected<AnnounceResult> replace(Ipv4Address old, Ipv4Address replacement) override {
        return transaction<AnnounceResult>([&]() -> Expected<AnnounceResult> {
            auto existing = read(old);
            if (!existing) return existing.error();
            if (!existing->found) return makeError("replace: " + old.toString() + " is not in the table");
            auto taken = read(replacement);
            if (!taken) return taken.error();
            if (taken->found) return makeError("replace: " + replacement.toString() + " is already in the table");
            Statement buddies(db_,
                "UPDATE ringgate_servers SET "
                "buddy_a = CASE WHEN buddy_a = ?1 THEN ?2 ELSE buddy_a END, "
                "buddy_b = CASE WHEN buddy_b = ?1 THEN ?2 ELSE buddy_b END "
                "WHERE buddy_a = ?1 OR buddy_b = ?1");
            buddies.bind(1, sql(old)).bind(2, sql(replacement));
            if (!buddies.prepared() || buddies.step() != SQLITE_DONE) return failure("replace buddies");
            Statement rename(db_, "UPDATE ringgate_servers SET server = ?2 WHERE server = ?1");
            rename.bind(1, sql(old)).bind(2, sql(replacement));
            if (!rename.prepared() || rename.step() != SQLITE_DONE) return failure("replace server");
            auto version = bumpVersion();
            if (!version) return version.error();
            auto now = read(replacement);
            if (!now) return now.error();
            return AnnounceResult{false, now->entry.buddyA, now->entry.buddyB, *version};
        });
    }

    Expected<EntryResult> entry(Ipv4Address server) override {
        return transaction<EntryResult>([&] { return read(server); });
    }

    Expected<TableSnapshot> snapshot() override {
        return transaction<TableSnapshot>([&]() -> Expected<TableSnapshot> {
            TableSnapshot snapshot;
            auto version = readVersion();
            if (!version) return version.error();
            snapshot.version = *version;
            Statement all(db_, "SELECT server, buddy_a, buddy_b FROM ringgate_servers ORDER BY server");
            if (!all.prepared()) return failure("read table");
            int rc;
            while ((rc = all.step()) == SQLITE_ROW)
                snapshot.entries.push_back({addr(all.column(0)), addr(all.column(1)), addr(all.column(2))});
            if (rc != SQLITE_DONE) return failure("read table");
            return snapshot;
        });
    }

    Expected<void> load(const TableSnapshot& snapshot) override {
        auto done = transaction<bool>([&]() -> Expected<bool> {
            if (auto cleared = exec("DELETE FROM ringgate_servers"); !cleared) return cleared.error();
            for (const auto& e : snapshot.entries) {
                Statement insert(db_, "INSERT INTO ringgate_servers (server, buddy_a, buddy_b) VALUES (?, ?, ?)");
                insert.bind(1, sql(e.server)).bind(2, sql(e.buddyA)).bind(3, sql(e.buddyB));
                if (!insert.prepared() || insert.step() != SQLITE_DONE) return failure("load entry");
            }
            Statement version(db_, "UPDATE ringgate_meta SET version = ? WHERE id = 1");
            version.bind(1, static_cast<int64_t>(snapshot.version));
            if (!version.prepared() || version.step() != SQLITE_DONE) return failure("load version");
            return true;
        });
        if (!done) return done.error();
        return {};
    }

private:
    Error failure(const std::string& what) const {
        return makeError("sqlite " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
    }

    Expected<void> exec(const char* statements) {
        char* message = nullptr;
        if (sqlite3_exec(db_, statements, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            return makeError("sqlite " + path_ + ": " + text);
        }
        return {};
    }

    template <typename T, typename Body>
    Expected<T> transaction(Body body) {
        if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return begun.error();
        Expected<T> result = body();
        if (!result) {
            (void)exec("ROLLBACK");
            return result;
        }
        if (auto committed = exec("COMMIT"); !committed) {
            (void)exec("ROLLBACK");
            return committed.error();
        }
        return result;
    }

    Expected<uint64_t> readVersion() {
        Statement version(db_, "SELECT version FROM ringgate_meta WHERE id = 1");
        if (!version.prepared() || version.step() != SQLITE_ROW) return failure("read version");
        return static_cast<uint64_t>(version.column(0));
    }

    Expected<uint64_t> bumpVersion() {
        Statement bump(db_, "UPDATE ringgate_meta SET version = version + 1 WHERE id = 1");
        if (!bump.prepared() || bump.step() != SQLITE_DONE) return failure("bump version");
        return readVersion();
    }

    Expected<EntryResult> read(Ipv4Address server) {
        EntryResult result;
        auto version = readVersion();
        if (!version) return version.error();
        result.version = *version;
        Statement select(db_, "SELECT buddy_a, buddy_b FROM ringgate_servers WHERE server = ?");
        if (!select.prepared()) return failure("read entry");
        select.bind(1, sql(server));
        int rc = select.step();
        if (rc == SQLITE_ROW) {
            result.found = true;
            result.entry = {server, addr(select.column(0)), addr(select.column(1))};
        } else if (rc != SQLITE_DONE) {
            return failure("read entry");
        }
        return result;
    }

    sqlite3* db_;
    std::string path_;
};

}  // namespace

Expected<std::unique_ptr<ServerStore>> openSqliteStore(const std::string& path) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return makeError("open sqlite database " + path + ": " + message);
    }
    auto store = std::make_unique<SqliteStore>(db, path);
    if (auto ready = store->init(); !ready) return ready.error();
    return std::unique_ptr<ServerStore>(std::move(store));
}

}  // namespace ringgate::registry
