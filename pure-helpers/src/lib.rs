//! Pure-FTPd's small monitoring helpers: [`statsdecode`] turns the Unix times of a
//! `-O stats:` log into dates, [`mrtginfo`] prints the four lines MRTG reads.

pub mod mrtginfo;
pub mod statsdecode;
