//! rnnfast-core: recurrent-network kernels in pure Rust.
//!
//! The crate has no Python types; the `rnnfast-py` crate binds it. Layout:
//! - [`simd`]: runtime-dispatched activation kernels with scalar twins;
//! - [`linalg`]: general matrix products (through faer);
//! - [`packed`]: products with weights packed once, in a fixed accumulation order;
//! - [`cells`]: the Elman, LSTM and GRU equations (PyTorch conventions);
//! - [`esn`]: echo state networks (sparse reservoirs, ridge readouts);
//! - [`network`]: stacked, bidirectional, ragged-batch inference;
//! - [`stream`]: the same networks run one step at a time, state kept between calls;
//! - [`hopfield`]: associative memories (classical and modern Hopfield networks, BAM);
//! - [`train`]: backpropagation through time, losses and optimizers;
//! - [`par`]: the bounded thread pool and the parallelism policy;
//! - [`cache`]: the L1 data cache size, for layouts chosen by it;
//! - `aligned`: buffers that start a cache line;
//! - `lockstep`: one sequential recurrence split across threads (the scheduler).

mod aligned;
pub mod cache;
pub mod cells;
pub mod error;
pub mod esn;
pub mod float;
pub mod hopfield;
pub mod linalg;
mod lockstep;
pub mod network;
pub mod packed;
pub mod par;
pub mod rng;
pub mod simd;
pub mod stream;
pub mod train;

pub use cells::CellKind;
pub use error::{Result, RnnError};
pub use float::Float;
pub use network::{Forward, LayerWeights, Network, NetworkConfig};
pub use stream::StreamState;
