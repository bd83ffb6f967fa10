//! Networks that start alive: the device-physics analogue of data-driven initialisation
//! (LSUV, Mishkin & Matas 2016).
//!
//! A device that only responds past a threshold, or saturates, can sit where it does not
//! respond to anything a network shows it: digits are mostly background (0), so a thresholded
//! device fed `x = u` with small A never passes its threshold, every gradient is zero, and
//! training learns nothing. Before the first step, each layer in turn (input first) is
//! measured on a batch of real training images through the surrogates ([`search`]): the share
//! of device evaluations that **respond** (the output moves when A moves: a central
//! difference of the surrogate along two random directions of A, above 1 % of the output
//! range per half-range of A), discounted when the outputs barely move over the images
//! (standard deviation below 5 % of the range; LSUV asks for unit variance). If the plain
//! start (the configured map, A around the middle of its bounds) scores below one half,
//! starts are tried from the plainest outward: the fixed input map (which slice of the
//! upstream range goes to which slice of the device's input box) and the centre of the
//! initial A inside its bounds; the first that is alive is kept. The chosen maps are written
//! to `start.json` in the run folder ([`report`]): they are part of the network and
//! everything that loads the run applies them.

pub mod report;
pub mod search;

pub use report::{LayerStart, Liveness, ReadoutStart, START_FILE, StartReport, with_recorded_maps};
pub use search::{ALIVE, START_IMAGES, start_alive};
