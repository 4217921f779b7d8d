//! What the SIGKILL series share: a seeded random source (the seed printed, `MS_KILL_SEED`
//! repeats it) and the `collect_once` process they start and kill.

use mail_settings_tests::servers;
use std::path::Path;
use std::process::{Command, Stdio};

/// xorshift64*: reproducible from the printed seed.
#[derive(Debug)]
pub struct Rng {
    state: u64,
    seed: u64,
}

impl Rng {
    /// Seeded from `MS_KILL_SEED`, or from the clock; prints the seed so a failure can be
    /// repeated.
    pub fn from_env() -> Self {
        let seed = std::env::var("MS_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("seed {seed} (set MS_KILL_SEED to repeat)");
        Rng { state: seed, seed }
    }

    /// The seed it started from (for failure messages).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A `collect_once` process over the store `db` for `account`, whose mailbox is `mailbox`;
/// output piped (its last line is the run's JSON report).
pub fn collect_once(db: &Path, account: i64, mailbox: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_collect_once"));
    cmd.arg(db)
        .arg(account.to_string())
        .arg(mailbox)
        .env("MS_MAIL_PASSWORD", servers().mail_password())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}
