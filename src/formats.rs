//! Outside file formats: roster files as HR exports them (CSV, XLSX) and the compliance
//! reports HR downloads (CSV, XLSX).

pub mod export;
pub mod roster;
pub mod xlsx_limits;
