//! The command's finish: shell completions and the man page, generated from the clap
//! definitions at run time by two hidden subcommands, so that they never drift from the
//! arguments the command takes:
//!
//! ```text
//! mail-settings completions bash > /usr/share/bash-completion/completions/mail-settings
//! mail-settings completions zsh  > /usr/local/share/zsh/site-functions/_mail-settings
//! mail-settings completions fish > ~/.config/fish/completions/mail-settings.fish
//! mail-settings man > /usr/local/share/man/man1/mail-settings.1
//! ```

use crate::output::{self, EXIT_USAGE};
use crate::Cli;
use clap::{CommandFactory, ValueEnum};
use std::io::Write;
use std::process::ExitCode;

/// The shells `mail-settings completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (bash-completion).
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_owned();
    match shell {
        Shell::Bash => clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, name, out),
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, name, out),
        Shell::Fish => clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, name, out),
    }
}

/// Writes the man page (roff, section 1) to `out`: the command, its options and a section
/// per subcommand.
pub fn write_man(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("mail-settings-{}", sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(name);
        let nested = sub.has_subcommands();
        writeln!(out)?;
        let man = clap_mangen::Man::new(sub);
        man.render_title(out)?;
        man.render_name_section(out)?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        if nested {
            man.render_subcommands_section(out)?;
        }
    }
    Ok(())
}

/// `mail-settings completions SHELL`.
pub fn completions(shell: Shell) -> Result<ExitCode, ExitCode> {
    let mut out = std::io::stdout().lock();
    write_completions(shell, &mut out);
    out.flush()
        .map_err(|e| output::fail(EXIT_USAGE, format!("cannot write: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `mail-settings man`.
pub fn man() -> Result<ExitCode, ExitCode> {
    let mut out = std::io::stdout().lock();
    write_man(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| output::fail(EXIT_USAGE, format!("cannot write: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_knows_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            write_completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            for sub in ["validate", "collect", "test-smtp", "inbox"] {
                assert!(text.contains(sub), "{shell:?} lacks {sub}");
            }
            assert!(text.contains("mail-settings"), "{shell:?}");
            assert!(
                text.contains("--credentials"),
                "{shell:?} lacks --credentials"
            );
        }
    }

    #[test]
    fn the_man_page_documents_the_command_and_its_subcommands() {
        let mut out = Vec::new();
        write_man(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(".ie") || text.starts_with(".TH"),
            "{}",
            &text[..40]
        );
        assert!(text.contains(".TH mail-settings 1"), "no title");
        assert!(
            text.contains("mail\\-settings\\-collect"),
            "no collect section"
        );
        assert!(
            text.contains("\\-\\-credentials"),
            "no --credentials option"
        );
        assert!(!text.contains("mail\\-settings\\-man"), "hidden man listed");
    }
}
