//! Conversions between Python values and the core's field types.
//!
//! Why a module of its own: every class of the binding reads and writes the same handful of
//! field types (text, flags, numbers, docs/SETTINGS.md's words such as `IMAP` or `SSL`, paths), and
//! `to_dict`/`from_dict` go through the core's own serde shapes. Keeping the conversions here
//! means a Python value is accepted or refused the same way by a constructor, a property and a
//! dict.

use mail_settings_core::{ConnectorKind, Protocol, SecureConnectionType};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;
use std::path::PathBuf;

/// A field type of a form, as Python sees it.
pub(crate) trait FieldValue: Sized {
    /// The Python value.
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject>;
    /// Reads a Python value for field `name`; a wrong type is a `TypeError` naming the field.
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self>;
}

fn type_error(name: &str, expected: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let got = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    PyTypeError::new_err(format!("{name} must be {expected}, not {got}"))
}

impl FieldValue for String {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(PyString::new(py, self).into_any().unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        value
            .downcast::<PyString>()
            .map_err(|_| type_error(name, "str", value))?
            .to_cow()
            .map(|c| c.into_owned())
    }
}

impl FieldValue for bool {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(PyBool::new(py, *self).to_owned().into_any().unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(value
            .downcast::<PyBool>()
            .map_err(|_| type_error(name, "bool", value))?
            .is_true())
    }
}

impl FieldValue for i64 {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(self.into_pyobject(py)?.into_any().unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
            return Err(type_error(name, "int", value));
        }
        value.extract::<i64>()
    }
}

impl FieldValue for PathBuf {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(PyString::new(py, &self.to_string_lossy())
            .into_any()
            .unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        fspath(value)
            .map_err(|_| type_error(name, "str or os.PathLike", value))
            .map(PathBuf::from)
    }
}

/// `os.fspath(value)` as text.
pub(crate) fn fspath(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = value.py();
    let os = py.import("os")?;
    let p = os.call_method1("fspath", (value,))?;
    match p.downcast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err("paths must be text, not bytes")),
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        match self {
            Some(v) => v.to_py(py),
            None => Ok(py.None()),
        }
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if value.is_none() {
            Ok(None)
        } else {
            T::from_py(name, value).map(Some)
        }
    }
}

/// One of docs/SETTINGS.md's words (`IMAP`, `SSL`, `SOCKS5`...), read and written through the core's
/// serde names so that Python, documents and the store spell them alike.
macro_rules! spec_word {
    ($ty:ty, $choices:literal) => {
        impl FieldValue for $ty {
            fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
                Ok(PyString::new(py, self.as_str()).into_any().unbind())
            }
            fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
                let text = String::from_py(name, value)?;
                serde_json::from_value(Value::String(text.clone())).map_err(|_| {
                    PyValueError::new_err(format!(
                        "{name} must be one of {}, not {text:?}",
                        $choices
                    ))
                })
            }
        }
    };
}

spec_word!(Protocol, "'IMAP', 'POP3'");
spec_word!(SecureConnectionType, "'SSL', 'TLS'");
spec_word!(ConnectorKind, "'SOCKS5', 'HTTP_CONNECT'");
// OAuth2 (settings of OAuth2 clients and accounts)
spec_word!(
    mail_settings_core::model::AuthenticationMethod,
    "'PASSWORD', 'OAUTH2'"
);
spec_word!(
    mail_settings_core::model::OAuth2ProviderKind,
    "'MICROSOFT', 'GOOGLE', 'CUSTOM'"
);
spec_word!(
    mail_settings_core::model::OAuth2Grant,
    "'REFRESH_TOKEN', 'CLIENT_CREDENTIALS'"
);

/// A Python object (dicts with text keys, lists, tuples, text, numbers, bools, `None`,
/// path-likes) as a JSON value, for the core's serde deserializers.
pub(crate) fn py_to_json(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.downcast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Ok(Value::from(value.extract::<u64>()?));
    }
    if let Ok(f) = value.downcast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity have no place in settings"));
    }
    if let Ok(s) = value.downcast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = value.downcast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = k
                .downcast::<PyString>()
                .map_err(|_| PyTypeError::new_err("dict keys must be str"))?
                .to_cow()?
                .into_owned();
            map.insert(key, py_to_json(&v)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = value.downcast::<PyList>() {
        return l
            .iter()
            .map(|v| py_to_json(&v))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    if let Ok(t) = value.downcast::<PyTuple>() {
        return t
            .iter()
            .map(|v| py_to_json(&v))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    if value.hasattr("__fspath__")? {
        return fspath(value).map(Value::String);
    }
    Err(type_error(
        "a settings value",
        "a dict, list, str, int, bool or None",
        value,
    ))
}

impl FieldValue for Vec<String> {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(PyList::new(py, self)?.into_any().unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyString>() {
            return Err(type_error(name, "a list of str", value));
        }
        value
            .try_iter()
            .map_err(|_| type_error(name, "a list of str", value))?
            .map(|item| String::from_py(name, &item?))
            .collect()
    }
}

impl FieldValue for u16 {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(self.into_pyobject(py)?.into_any().unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let n = i64::from_py(name, value)?;
        u16::try_from(n).map_err(|_| PyValueError::new_err(format!("{name} must be 0–65535")))
    }
}

impl FieldValue for u64 {
    fn to_py(&self, py: Python<'_>) -> PyResult<PyObject> {
        Ok(self.into_pyobject(py)?.into_any().unbind())
    }
    fn from_py(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
            return Err(type_error(name, "int", value));
        }
        value.extract::<u64>()
    }
}

/// Network bounds from a Python `timeout` in seconds (`None`: the core's defaults).
pub(crate) fn timeouts(timeout: Option<f64>) -> PyResult<mail_settings_core::net::Timeouts> {
    match timeout {
        None => Ok(mail_settings_core::net::Timeouts::default()),
        Some(t) if t.is_finite() && t > 0.0 => Ok(mail_settings_core::net::Timeouts::uniform(
            std::time::Duration::from_secs_f64(t),
        )),
        Some(_) => Err(PyValueError::new_err(
            "timeout must be a positive number of seconds",
        )),
    }
}
/// A JSON value as a Python object (dicts keep their order).
pub(crate) fn json_to_py(py: Python<'_>, value: &Value) -> PyResult<PyObject> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN))
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

/// Python's `repr()` of a value, for the `__repr__` of the binding's classes.
pub(crate) fn py_repr<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> String {
    value
        .into_pyobject(py)
        .map_err(Into::into)
        .and_then(|o| {
            use pyo3::BoundObject;
            o.into_any().as_borrowed().repr().map(|r| r.to_string())
        })
        .unwrap_or_else(|_| "?".to_owned())
}
