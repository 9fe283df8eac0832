//! `rnnfast._rnnfast`: the PyO3 layer over `rnnfast-core`.
//!
//! Only glue lives here: array conversion, GIL release and error mapping. The public Python API
//! (validation, defaults, documentation) is in `python/rnnfast`.

mod arrays;
mod errors;
mod esn;
mod hopfield;
mod network;
mod nvar;
mod stream;
mod train;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _rnnfast {
    use super::*;

    #[pymodule_export]
    use network::PyNetwork;
    #[pymodule_export]
    use stream::PyStream;
    #[pymodule_export]
    use train::PyTrainer;

    #[pymodule_export]
    use hopfield::{bam_recall, hopfield_learn, hopfield_recall, modern_hopfield_retrieve};

    #[pymodule_export]
    use esn::{
        esn_closed_loop, esn_fit_online, esn_fit_ridge, esn_forecast, esn_pool, esn_ridge, esn_run,
        esn_spectral_radius,
    };

    #[pymodule_export]
    use nvar::{nvar_fit, nvar_forecast, nvar_run};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }

    /// Sets how many threads the kernels may use (1 turns parallelism off).
    #[pyfunction]
    fn set_num_threads(n: usize) -> PyResult<()> {
        rnnfast_core::par::set_num_threads(n).map_err(|e| errors::CoreError(e).into())
    }

    /// The number of threads the kernels may use.
    #[pyfunction]
    fn get_num_threads() -> usize {
        rnnfast_core::par::num_threads()
    }

    /// The SIMD instruction set the activation kernels run on: "avx512", "avx2" or "scalar".
    #[pyfunction]
    fn simd_arch() -> &'static str {
        rnnfast_core::simd::active_arch().name()
    }
}
