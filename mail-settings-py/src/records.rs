//! Read-only result records (report rows, collector reports and statuses, inbox summaries)
//! as frozen Python classes.
//!
//! Each wraps one of the core's `Serialize` structs; one macro gives it a property per field
//! (the value as the core serializes it: docs/SETTINGS.md's words, numbers, `None`), `to_dict()`,
//! equality and a `repr`, so every result object of the package behaves alike.

use crate::convert::json_to_py;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A serializable core value as Python data.
pub(crate) fn serde_to_py(py: Python<'_>, value: &impl serde::Serialize) -> PyResult<PyObject> {
    let v = serde_json::to_value(value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &v)
}

/// Declares a frozen Python class over a core record: `record_class! { /// doc
/// PyName("Name") wraps CoreType { /// doc field, /// doc py_name = field, ... } }`.
macro_rules! record_class {
    (
        $(#[$doc:meta])*
        $py:ident($name:literal) wraps $row:ty {
            $( $(#[$fdoc:meta])* $field:ident $(= $src:ident)? ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[pyclass(name = $name, module = "mail_settings", frozen, eq)]
        #[derive(Clone, Debug, PartialEq)]
        pub struct $py {
            pub(crate) inner: $row,
        }

        impl From<$row> for $py {
            fn from(inner: $row) -> Self {
                Self { inner }
            }
        }

        #[pymethods]
        impl $py {
            $(
                $(#[$fdoc])*
                #[getter]
                fn $field(&self, py: Python<'_>) -> PyResult<PyObject> {
                    $crate::records::serde_to_py(py, $crate::records::field_of!(self.inner, $field $(, $src)?))
                }
            )*
            /// The record as a dict.
            fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
                $crate::records::serde_to_py(py, &self.inner)
            }
            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $(
                    parts.push(format!(
                        "{}={}",
                        stringify!($field),
                        $crate::records::serde_to_py(py, $crate::records::field_of!(self.inner, $field $(, $src)?))?.bind(py).repr()?
                    ));
                )*
                Ok(format!("{}({})", $name, parts.join(", ")))
            }
        }
    };
}

/// `&record.field`, or `&record.source` for a property renamed (`from_ = from`).
macro_rules! field_of {
    ($record:expr, $field:ident) => {
        &$record.$field
    };
    ($record:expr, $field:ident, $src:ident) => {
        &$record.$src
    };
}

pub(crate) use field_of;
pub(crate) use record_class;
