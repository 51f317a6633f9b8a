//! The detectors, one per module, each citing the paper it implements.
