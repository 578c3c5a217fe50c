//! The banner and the commands that touch no file: TYPE, MODE, STRU, FEAT, OPTS, HELP
//! and SITE.

use pureftpd_proto::Reply;
use pureftpd_proto::command::{Site, TypeCode};

use super::LoggedIn;
use super::{Origin, Outcome, Session};
use crate::messages as msg;

/// SITE IDLE's largest value, seconds.
const MAX_SITE_IDLE: u64 = 2520;

impl Session<'_> {
    /// The 220 greeting.
    pub(super) fn banner(&self, origin: Origin) -> Reply {
        // -F: a fortune is the whole greeting, as in Pure-FTPd.
        if let Some(lines) = self
            .config
            .fortunes_file
            .as_deref()
            .and_then(|path| super::magic::fortune(path, super::login::random_u32()))
        {
            let mut reply = Reply::empty(220);
            for line in lines {
                reply.push(line);
            }
            return reply;
        }
        let mut reply = Reply::new(220, msg::WELCOME);
        reply.push(msg::user_number(origin.number, origin.max_clients));
        let now = jiff::Timestamp::now().to_zoned(self.tz.clone());
        reply.push(msg::local_time(
            &format!("{:02}:{:02}", now.hour(), now.minute()),
            self.local.port(),
        ));
        if self.config.anonymous_only {
            reply.push(msg::ANONYMOUS_ONLY);
        } else if self.config.no_anonymous {
            reply.push(msg::NO_ANONYMOUS);
        }
        // Ratios are announced (-Q wins over -q), as Pure-FTPd does.
        let ratio = match (self.config.user_ratio, self.config.anonymous_ratio) {
            (Some(ratio), _) => Some(("RATIOS ARE ENABLED FOR EVERYONE:", ratio)),
            (None, Some(ratio)) => Some(("ANONYMOUS USERS ARE SUBJECT TO AN UL/DL RATIO:", ratio)),
            (None, None) => None,
        };
        if let Some((who, (up, down))) = ratio {
            reply.push(who);
            reply.push(format!(
                "to download {down} Mb, uploading {up} Mb of goodies is mandatory."
            ));
        }
        if self.config.allow_anonymous_fxp {
            reply.push(msg::FXP_SUPPORTED);
        }
        if origin.ipv6_available && super::data::canonical(self.peer.ip()).is_ipv4() {
            reply.push(msg::IPV6_WELCOME);
        }
        reply.push(msg::idle_notice(self.idle.as_secs()));
        reply
    }

    pub(super) fn type_(&mut self, code: TypeCode) -> Outcome {
        let reply = match code {
            TypeCode::Ascii => {
                self.binary = false;
                Reply::empty(200)
            }
            TypeCode::Image => {
                self.binary = true;
                Reply::empty(200)
            }
            TypeCode::LocalUnsized => {
                self.binary = true;
                Reply::new(200, msg::MISSING_ARGUMENT)
            }
            TypeCode::LocalOther => Reply::new(504, msg::TYPE_LOCAL_REFUSED),
            TypeCode::Unknown(arg) => Reply::new(504, msg::unknown_type(&arg)),
            TypeCode::Missing => Reply::new(501, msg::MISSING_ARGUMENT).line(msg::TYPE_CHOICES),
        };
        reply.line(msg::type_now(self.binary)).into()
    }

    pub(super) fn mode(arg: &[u8]) -> Outcome {
        match arg {
            b"" => Reply::new(501, msg::MISSING_ARGUMENT),
            b"S" | b"s" => Reply::new(200, "S OK"),
            _ => Reply::new(504, msg::MODE_REFUSED),
        }
        .into()
    }

    pub(super) fn stru(arg: &[u8]) -> Outcome {
        match arg {
            b"" => Reply::new(501, msg::MISSING_ARGUMENT),
            b"F" | b"f" => Reply::new(200, "F OK"),
            _ => Reply::new(504, msg::STRU_REFUSED),
        }
        .into()
    }

    pub(super) fn feat(&self) -> Outcome {
        let mut features = vec![
            " UTF8",
            " EPRT",
            " IDLE",
            " MDTM",
            " SIZE",
            " MFMT",
            " REST STREAM",
            " MLST type*;size*;sizd*;modify*;UNIX.mode*;UNIX.uid*;UNIX.gid*;unique*;",
            " MLSD",
            " PRET",
        ];
        // Listed even with -Y 0, as Pure-FTPd built with TLS does.
        features.extend([" AUTH TLS", " PBSZ", " PROT"]);
        features.extend([" TVFS", " ESTA"]);
        if !self.config.nat_mode {
            features.extend([" PASV", " EPSV"]);
            if self.config.force_passive_ip.is_none() {
                features.push(" ESTP");
            }
        }
        let text = format!("Extensions supported:\r\n{}", features.join("\r\n"));
        Reply::new(211, text).line("End.").into()
    }

    /// OPTS: only `OPTS MLST <facts>` is known, and answered with every fact whatever
    /// is asked, as Pure-FTPd does; a bare `OPTS MLST` (no space, no facts) is not.
    pub(super) fn opts(arg: &[u8]) -> Outcome {
        if arg.len() >= 5 && arg[..5].eq_ignore_ascii_case(b"MLST ") {
            return Reply::new(200, msg::MLST_OPTS).into();
        }
        Reply::new(504, msg::UNKNOWN_COMMAND).into()
    }

    pub(super) fn site_help() -> Outcome {
        Reply::new(214, msg::SITE_HELP)
            .line(msg::SITE_HELP_END)
            .into()
    }

    pub(super) fn site(&mut self, logged: &mut LoggedIn, site: Site) -> Outcome {
        match site {
            Site::Help => Self::site_help(),
            Site::Time => {
                let now = jiff::Timestamp::now().to_zoned(self.tz.clone());
                Reply::new(211, now.strftime("%Y-%m-%d %H:%M:%S").to_string()).into()
            }
            Site::Idle(arg) => self.site_idle(&arg),
            Site::Chmod(arg) => self.chmod(logged, &arg),
            Site::Utime(arg) => self.utime(logged, &arg),
            Site::Alias(_) => self.site_alias(),
            Site::Unknown(word) => Reply::new(500, msg::site_unknown(&word)).into(),
            Site::Missing => Reply::new(500, msg::SITE_MISSING).into(),
        }
    }

    fn site_idle(&mut self, arg: &[u8]) -> Outcome {
        if arg.is_empty() {
            return Reply::new(501, msg::IDLE_MISSING).into();
        }
        // Pure-FTPd's strtoul: blanks and a sign before the digits, nothing after them.
        let (seconds, end) = pureftpd_proto::c_scan::strtoul_end(arg, 10);
        if end < arg.len() {
            return Reply::new(501, msg::garbage(&arg[end..])).into();
        }
        if seconds > MAX_SITE_IDLE {
            return Reply::new(501, msg::VALUE_TOO_LARGE).into();
        }
        self.idle = std::time::Duration::from_secs(seconds);
        self.control.set_send_timeout(self.idle);
        Reply::new(200, msg::idle_set(seconds)).into()
    }
}
