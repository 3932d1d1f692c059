//! The subcommands: `check` (what this host allows, [`crate::check`]), `serve` (warm
//! sandboxes on a unix socket, [`crate::serve`]) and the two hidden
//! generators that `make install` runs to write the man pages and the shell completions
//! from the command-line definition itself ([`crate::cli::Cli`]), so they cannot drift
//! from `--help`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::Fail;

/// `forkexec-run SUBCOMMAND`. A COMMAND with one of these names runs after `--`.
#[derive(Subcommand, Debug)]
pub enum Tool {
    /// What this host allows the current user (user namespaces, setgroups, cgroups, seccomp,
    /// Landlock, clone3, openat2, the new mount API) and, for each "no", why and the fix.
    Check(crate::check::CheckArgs),

    /// Build a pool of warm sandboxes once and run the programs sent with
    /// `forkexec-run --via SOCKET -- COMMAND` in them, each a fresh process with nothing of an
    /// earlier run left (docs/cli.md, "Warm sandboxes").
    Serve(crate::serve::ServeArgs),

    /// Print the completion script for SHELL (`make install` installs bash, zsh and fish).
    #[command(hide = true)]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
    },

    /// Write the man pages (forkexec-run.1, forkexec-run-check.1, forkexec-run-serve.1) into
    /// DIR, or print
    /// forkexec-run.1 on stdout.
    #[command(hide = true)]
    Manpage {
        /// The directory to write the pages into.
        dir: Option<PathBuf>,
    },
}

/// Runs a subcommand and exits.
pub fn run(tool: &Tool) -> ! {
    match tool {
        Tool::Check(args) => crate::check::main(args),
        Tool::Serve(args) => crate::serve::main(args),
        Tool::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&completion(*shell));
            let _ = out.flush();
            std::process::exit(0)
        }
        Tool::Manpage { dir: Some(dir) } => {
            for path in write_man_pages(dir)
                .unwrap_or_else(|e| Fail::setup(format!("manpage {}: {e}", dir.display())).exit())
            {
                println!("{}", path.display());
            }
            std::process::exit(0)
        }
        Tool::Manpage { dir: None } => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&man_page());
            let _ = out.flush();
            std::process::exit(0)
        }
    }
}

/// The command line as clap sees it, named for the generators.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "forkexec-run", &mut out);
    out
}

/// One of clap_mangen's section renderers.
type Section = fn(&clap_mangen::Man, &mut dyn Write) -> std::io::Result<()>;

/// forkexec-run.1 (roff): clap_mangen's sections for the flags, then the long help's own
/// sections (HOW THE FLAGS BUILD THE SPEC, EXIT STATUS, EXAMPLES) as man sections, with their
/// indented lines kept as they are (no filling).
pub fn man_page() -> Vec<u8> {
    let cmd = command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let sections: [Section; 5] = [
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
        clap_mangen::Man::render_options_section,
    ];
    for render in sections {
        render(&man, &mut out).expect("rendering into a Vec cannot fail");
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)
            .expect("rendering into a Vec cannot fail");
    }
    if let Some(text) = cmd.get_after_long_help() {
        out.extend_from_slice(long_help_sections(&text.to_string()).as_bytes());
    }
    man.render_version_section(&mut out)
        .expect("rendering into a Vec cannot fail");
    out
}

/// The long help's text as roff: an unindented line in capitals is a section title, a blank
/// line ends a paragraph, lines indented by less than four spaces are filled text, lines
/// indented further are shown as written (wrapped at 76 columns).
fn long_help_sections(text: &str) -> String {
    use roff::{roman, Roff};
    let mut roff = Roff::new();
    let mut verbatim = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let wanted_verbatim = indent >= 4 && !line.trim().is_empty();
        if verbatim && !wanted_verbatim {
            roff.control("fi", []).control("RE", []);
            verbatim = false;
        }
        if line.trim().is_empty() {
            continue;
        }
        if indent == 0 && !line.chars().any(|c| c.is_lowercase()) {
            roff.control("SH", [line.trim()]);
        } else if wanted_verbatim {
            if !verbatim {
                roff.control("RS", ["4"]).control("nf", []);
                verbatim = true;
            }
            // Kept as written relative to the block's 4-space margin; too long a line is
            // wrapped under its text column, as --help does.
            for part in crate::help::wrap(&line[4..], 76).lines() {
                roff.text([roman(part)]);
            }
        } else {
            roff.control("PP", []).text([roman(line.trim())]);
        }
    }
    if verbatim {
        roff.control("fi", []).control("RE", []);
    }
    roff.to_roff()
}

/// Writes forkexec-run.1 and a page for each visible subcommand (`forkexec-run-NAME.1`)
/// into `dir`; returns their paths.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let main = dir.join("forkexec-run.1");
    std::fs::write(&main, man_page())?;
    let mut pages = vec![main];
    for sub in command().get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible long flag of the command line (and of `check`).
    fn visible_flags(cmd: &clap::Command) -> Vec<String> {
        cmd.get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect()
    }

    #[test]
    fn man_page_and_completions_name_every_flag() {
        let cmd = command();
        let flags = visible_flags(&cmd);
        assert!(flags.len() > 40, "{flags:?}");
        // roff escapes `-` as `\-`.
        let man = String::from_utf8(man_page()).unwrap().replace("\\-", "-");
        let bash = String::from_utf8(completion(Shell::Bash)).unwrap();
        let zsh = String::from_utf8(completion(Shell::Zsh)).unwrap();
        let fish = String::from_utf8(completion(Shell::Fish)).unwrap();
        for flag in &flags {
            assert!(man.contains(flag.as_str()), "man page lacks {flag}");
            assert!(bash.contains(flag.as_str()), "bash completion lacks {flag}");
            assert!(zsh.contains(flag.as_str()), "zsh completion lacks {flag}");
            let long = flag.trim_start_matches("--");
            assert!(
                fish.contains(&format!("-l {long}")),
                "fish completion lacks {flag}"
            );
        }
        // The subcommand is there, the hidden generators are not advertised.
        assert!(man.contains("forkexec-run-check(1)"), "{man}");
        assert!(!man.contains("completions"));
        let check = cmd.find_subcommand("check").unwrap();
        assert!(
            fish.contains("__fish_forkexec_run_using_subcommand check"),
            "{fish}"
        );
        for flag in visible_flags(check) {
            assert!(bash.contains(flag.as_str()), "bash lacks check {flag}");
        }
    }

    #[test]
    fn man_pages_are_written_for_the_command_and_check() {
        let dir = std::env::temp_dir().join(format!("forkexec-man-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pages = write_man_pages(&dir).unwrap();
        let names: Vec<_> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "forkexec-run.1",
                "forkexec-run-check.1",
                "forkexec-run-serve.1"
            ]
        );
        for page in &pages {
            let text = std::fs::read_to_string(page).unwrap();
            assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{text}");
        }
        assert_eq!(std::fs::read(&pages[0]).unwrap(), man_page());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
