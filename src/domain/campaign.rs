//! A campaign's window: whether it is not yet open, open, or closed at a given moment. The
//! one place that answers "may this campaign be signed now?" and how that is said to people.

/// The times that decide a campaign's phase, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CampaignWindow {
    pub opens_at: i64,
    pub closes_at: i64,
    /// When HR closed it early, if it did.
    pub closed_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before `opens_at`: invitations exist but cannot sign yet.
    NotOpen,
    Open,
    /// Closed by HR, or past `closes_at`.
    Closed,
}

impl CampaignWindow {
    /// A campaign signs from `opens_at` up to (not including) `closes_at`, unless HR closed it.
    pub fn phase(&self, now: i64) -> Phase {
        if self.closed_at.is_some() || now >= self.closes_at {
            Phase::Closed
        } else if now < self.opens_at {
            Phase::NotOpen
        } else {
            Phase::Open
        }
    }

    /// When signing ended or will end: HR's early close, or the scheduled closing time.
    pub fn ends_at(&self) -> i64 {
        self.closed_at
            .map_or(self.closes_at, |c| c.min(self.closes_at))
    }
}

impl Phase {
    /// Stable machine name, used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::NotOpen => "not_open",
            Phase::Open => "open",
            Phase::Closed => "closed",
        }
    }

    /// What people read, in every way in (CLI, API, admin pages, signing page).
    pub fn label(self) -> &'static str {
        match self {
            Phase::NotOpen => "belum dibuka",
            Phase::Open => "terbuka",
            Phase::Closed => "ditutup",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: CampaignWindow = CampaignWindow {
        opens_at: 100,
        closes_at: 200,
        closed_at: None,
    };

    #[test]
    fn is_not_open_before_opens_at() {
        assert_eq!(W.phase(99), Phase::NotOpen);
        assert_eq!(W.phase(99).label(), "belum dibuka");
    }

    #[test]
    fn is_open_from_opens_at_until_just_before_closes_at() {
        assert_eq!(W.phase(100), Phase::Open);
        assert_eq!(W.phase(199), Phase::Open);
        assert_eq!(W.phase(150).label(), "terbuka");
    }

    #[test]
    fn is_closed_at_closes_at_and_after() {
        assert_eq!(W.phase(200), Phase::Closed);
        assert_eq!(W.phase(10_000).label(), "ditutup");
    }

    #[test]
    fn an_early_close_wins_even_before_opening() {
        let w = CampaignWindow {
            closed_at: Some(50),
            ..W
        };
        assert_eq!(w.phase(10), Phase::Closed);
        assert_eq!(w.phase(150), Phase::Closed);
        assert_eq!(w.ends_at(), 50);
    }

    #[test]
    fn ends_at_is_the_scheduled_close_without_an_early_one() {
        assert_eq!(W.ends_at(), 200);
    }
}
