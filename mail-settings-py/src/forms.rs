//! Accounts and network connectors as Python classes.
//!
//! Each class wraps the core's form ([`IncomingAccountForm`], [`SmtpAccountForm`],
//! [`NetworkConnectorForm`]): the settings as a person typed them, possibly invalid, with
//! docs/SETTINGS.md's field names and the core's defaults. Properties read and write the form's fields;
//! `validate()` runs the core's rules; the typed (validated) accounts a driver needs are built
//! by the core when an account is used, and an invalid one raises `ValidationError` there.
//!
//! One macro writes the per-field code (property, keyword constructor, `to_dict`, `repr`) so
//! that the three classes cannot drift from each other or from the forms.

use crate::convert::{py_to_json, FieldValue};
use crate::credentials::PyCredentials;
use crate::errors::to_py_err;
use crate::validation::PyValidation;
use mail_settings_core::model::{
    ConnectorKind, IncomingAccountForm, NetworkConnectorForm, Protocol, SecureConnectionType,
    SmtpAccountForm,
};
use mail_settings_core::store::Stored;
use mail_settings_core::validate::{validate_connector, validate_incoming, validate_smtp};
use mail_settings_core::{Error, ParseError, ValidationContext};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use std::path::PathBuf;

/// Turns a dict into a form through the core's serde shape (unknown keys and wrong types are a
/// `ParseError`, as in a document).
fn form_from_dict<T: serde::de::DeserializeOwned>(value: &Bound<'_, PyAny>) -> PyResult<T> {
    if !value.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err("from_dict needs a dict"));
    }
    let json = py_to_json(value)?;
    serde_json::from_value(json).map_err(|e| {
        to_py_err(Error::Parse(ParseError {
            format: "dict",
            line: 0,
            column: 0,
            message: e.to_string(),
        }))
    })
}

/// The forms of a list of Python connectors.
/// (Arguments are extracted by copy, so no borrow of a Python object outlives the call's start:
/// another thread may change the objects while the GIL is released.)
pub(crate) fn connector_forms(
    connectors: Option<Vec<PyNetworkConnector>>,
) -> Option<Vec<NetworkConnectorForm>> {
    connectors.map(|cs| cs.into_iter().map(|c| c.inner).collect())
}

/// The core's validation context from Python arguments.
fn context<'a>(
    connectors: Option<&'a [NetworkConnectorForm]>,
    provider: Option<&'a dyn mail_settings_core::CredentialProvider>,
) -> ValidationContext<'a> {
    ValidationContext {
        connectors,
        credentials: provider,
        ..ValidationContext::default()
    }
}

macro_rules! form_class {
    (
        $(#[$doc:meta])*
        $py:ident($pyname:literal) wraps $form:ty {
            $( $(#[$fdoc:meta])* $field:ident / $setter:ident : $fty:ty ),* $(,)?
        }
        extra { $($extra:tt)* }
    ) => {
        $(#[$doc])*
        #[pyclass(name = $pyname, module = "mail_settings")]
        #[derive(Clone, Debug)]
        pub struct $py {
            pub(crate) inner: $form,
            pub(crate) version: Option<i64>,
        }

        impl $py {
            /// Wraps a form that is not (yet) stored.
            pub(crate) fn from_form(inner: $form) -> Self {
                Self { inner, version: None }
            }

            /// Wraps a stored form, keeping its version for the next update.
            pub(crate) fn from_stored(stored: Stored<$form>) -> Self {
                let mut inner = stored.record;
                inner.id = Some(stored.id);
                Self { inner, version: Some(stored.version) }
            }

            fn set_field(&mut self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
                match name {
                    "id" => self.inner.id = FieldValue::from_py(name, value)?,
                    $( stringify!($field) => {
                        self.inner.$field = <$fty as FieldValue>::from_py(name, value)?
                    } )*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            fn field_values(&self, py: Python<'_>) -> PyResult<Vec<(&'static str, PyObject)>> {
                Ok(vec![
                    ("id", FieldValue::to_py(&self.inner.id, py)?),
                    $( (stringify!($field), FieldValue::to_py(&self.inner.$field, py)?), )*
                ])
            }
        }

        #[pymethods]
        impl $py {
            /// Keyword arguments named as the fields; every field left out takes docs/SETTINGS.md's
            /// default. `id` may be given (documents carry ids); the store gives it otherwise.
            #[new]
            #[pyo3(signature = (**fields))]
            fn __new__(fields: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
                let mut me = Self::from_form(<$form>::default());
                if let Some(fields) = fields {
                    for (k, v) in fields.iter() {
                        let k: String = k.extract()?;
                        if !me.set_field(&k, &v)? {
                            return Err(PyTypeError::new_err(format!(
                                "{}() got an unexpected keyword argument {}",
                                $pyname,
                                crate::convert::py_repr(fields.py(), &k)
                            )));
                        }
                    }
                }
                Ok(me)
            }

            $(
                $(#[$fdoc])*
                #[getter]
                fn $field(&self, py: Python<'_>) -> PyResult<PyObject> {
                    FieldValue::to_py(&self.inner.$field, py)
                }
                #[setter]
                fn $setter(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
                    self.inner.$field = <$fty as FieldValue>::from_py(stringify!($field), value)?;
                    Ok(())
                }
            )*

            /// The id the store gave (read-only), or the document's id; `None` when new.
            #[getter]
            fn id(&self) -> Option<i64> {
                self.inner.id
            }

            /// The version read from the store (read-only): an update or delete based on it is
            /// refused with `ConflictError` if someone changed the record since. `None` when
            /// the object did not come from a store.
            #[getter]
            fn version(&self) -> Option<i64> {
                self.version
            }

            /// Every field (including `id`) as a dict; `from_dict` reads it back.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                for (k, v) in self.field_values(py)? {
                    d.set_item(k, v)?;
                }
                Ok(d)
            }

            /// Reads a dict in the settings document's shape (fields left out take their
            /// defaults; unknown fields and wrong types raise `ParseError`).
            #[classmethod]
            fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
                form_from_dict::<$form>(data).map(Self::from_form)
            }

            /// The form as JSON, in the settings document's shape.
            fn to_json(&self) -> PyResult<String> {
                serde_json::to_string_pretty(&self.inner)
                    .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
            }

            /// A copy (the version is kept).
            fn copy(&self) -> Self {
                self.clone()
            }

            fn __copy__(&self) -> Self {
                self.clone()
            }

            fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
                self.clone()
            }

            fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyObject {
                match other.downcast::<Self>() {
                    Ok(o) => (self.inner == o.borrow().inner)
                        .into_pyobject(py)
                        .map(|b| b.to_owned().into_any().unbind())
                        .unwrap_or_else(|_| py.NotImplemented()),
                    Err(_) => py.NotImplemented(),
                }
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts = Vec::new();
                for (k, v) in self.field_values(py)? {
                    parts.push(format!("{k}={}", v.bind(py).repr()?));
                }
                if let Some(version) = self.version {
                    parts.push(format!("version={version}"));
                }
                Ok(format!("{}({})", $pyname, parts.join(", ")))
            }

            $($extra)*
        }
    };
}

form_class! {
    /// An incoming (IMAP/POP3) account: docs/SETTINGS.md "Incoming account".
    PyIncomingAccount("IncomingAccountForm") wraps IncomingAccountForm {
        /// Account name: required, 1–100 characters after trimming, unique.
        name / set_name: String,
        /// Keep copy in server (default True).
        keep_copy_on_server / set_keep_copy_on_server: bool,
        /// Automatic check (default True).
        automatic_check / set_automatic_check: bool,
        /// Seconds between automatic checks, 30–86400 (default 300).
        check_interval_secs / set_check_interval_secs: i64,
        /// Enabled (default True); a disabled account is never contacted.
        enabled / set_enabled: bool,
        /// Address: a host name, IPv4 or IPv6 literal.
        host / set_host: String,
        /// Port; None takes the default for the protocol and security.
        port / set_port: Option<i64>,
        /// 'IMAP' or 'POP3' (required).
        protocol / set_protocol: Option<Protocol>,
        /// Use Network Connector (default False).
        use_network_connector / set_use_network_connector: bool,
        /// The connector's id, exactly when use_network_connector.
        network_connector / set_network_connector: Option<i64>,
        /// Credential id in the vault (required).
        credential / set_credential: Option<String>,
        /// Skip certificate verification (default False; True is a warning).
        skip_certificate / set_skip_certificate: bool,
        /// Use secure connection (default True).
        use_secure_connection / set_use_secure_connection: bool,
        /// 'SSL' (implicit TLS, default) or 'TLS' (STARTTLS).
        secure_connection_type / set_secure_connection_type: SecureConnectionType,
        /// A PEM file of extra CA certificates trusted for this account only.
        ca_file / set_ca_file: Option<PathBuf>,
        /// Messages larger than this many bytes are skipped (default 50 MB).
        max_message_size / set_max_message_size: i64,
        /// IMAP folders collected, as the user writes them: UTF-8, '/' between levels,
        /// relative to the personal namespace (default ['INBOX']).
        folders / set_folders: Vec<String>,
        /// IMAP folder collected messages are moved to instead of deleted (without keep copy).
        archive_folder / set_archive_folder: Option<String>,
        /// Wait for new mail with IMAP IDLE on the first folder (default True).
        use_push / set_use_push: bool,
        /// 'PASSWORD' (default: the vault entry's secret as it is) or 'OAUTH2' (the OAuth2
        /// client obtains and refreshes access tokens).
        authentication / set_authentication: mail_settings_core::model::AuthenticationMethod,
        /// The OAuth2 client's id, exactly when authentication is 'OAUTH2'.
        oauth2_client / set_oauth2_client: Option<i64>,
    }
    extra {
        /// The port a connection would use: the typed one or docs/SETTINGS.md's default; None when the
        /// protocol is missing or the port is out of range.
        #[getter]
        fn effective_port(&self) -> Option<u16> {
            self.inner.effective_port()
        }

        /// Every problem at once. `connectors` (when given) are the connectors the account may
        /// name; `credentials` (when given) are asked whether the credential id exists.
        #[pyo3(signature = (*, connectors = None, credentials = None))]
        fn validate(
            &self,
            connectors: Option<Vec<PyNetworkConnector>>,
            credentials: Option<PyRef<'_, PyCredentials>>,
        ) -> PyValidation {
            let connectors = connector_forms(connectors);
            let provider = credentials.map(|c| c.provider());
            let ctx = context(connectors.as_deref(), provider.as_deref());
            validate_incoming(&self.inner, "", &ctx).into()
        }
    }
}

form_class! {
    /// An outgoing (SMTP) account: docs/SETTINGS.md "Outgoing account".
    PySmtpAccount("SmtpAccountForm") wraps SmtpAccountForm {
        /// Account name: required, 1–100 characters, unique.
        name / set_name: String,
        /// Enabled (default True); a disabled account sends nothing.
        enabled / set_enabled: bool,
        /// Sender e-mail (required).
        sender_email / set_sender_email: String,
        /// Reply-To.
        reply_to / set_reply_to: Option<String>,
        /// Return-Path: the envelope sender (MAIL FROM), where bounces go.
        return_path / set_return_path: Option<String>,
        /// Confirmation e-mail (Disposition-Notification-To); required with send_read_receipt.
        confirmation_email / set_confirmation_email: Option<String>,
        /// Default account: at most one; making one default clears the others in a store.
        default_account / set_default_account: bool,
        /// Ask for a read receipt (default False).
        send_read_receipt / set_send_read_receipt: bool,
        /// The account's sender, Reply-To and Return-Path replace the message's (default False).
        force_configuration / set_force_configuration: bool,
        /// Append the footer to every message (default False).
        enable_footer / set_enable_footer: bool,
        /// Footer text; required when enable_footer.
        footer / set_footer: Option<String>,
        /// SMTP host.
        host / set_host: String,
        /// Port; None takes the default for the security (587, or 465 for SSL).
        port / set_port: Option<i64>,
        /// Use secure connection (default True).
        use_secure_connection / set_use_secure_connection: bool,
        /// 'SSL' (implicit TLS, default) or 'TLS' (STARTTLS).
        secure_connection_type / set_secure_connection_type: SecureConnectionType,
        /// Use authentication (default True).
        use_authentication / set_use_authentication: bool,
        /// Ignore certificate errors (default False; True is a warning).
        skip_certificate_errors / set_skip_certificate_errors: bool,
        /// Use Network Connector (default False).
        use_network_connector / set_use_network_connector: bool,
        /// The connector's id, exactly when use_network_connector.
        network_connector / set_network_connector: Option<i64>,
        /// Credential id; required exactly when use_authentication.
        credential / set_credential: Option<String>,
        /// A PEM file of extra CA certificates trusted for this account only.
        ca_file / set_ca_file: Option<PathBuf>,
        /// 'PASSWORD' (default: the vault entry's secret as it is) or 'OAUTH2' (the OAuth2
        /// client obtains and refreshes access tokens).
        authentication / set_authentication: mail_settings_core::model::AuthenticationMethod,
        /// The OAuth2 client's id, exactly when authentication is 'OAUTH2'.
        oauth2_client / set_oauth2_client: Option<i64>,
    }
    extra {
        /// The port a connection would use; None when the port is out of range.
        #[getter]
        fn effective_port(&self) -> Option<u16> {
            self.inner.effective_port()
        }

        /// Every problem at once (see `IncomingAccount.validate`).
        #[pyo3(signature = (*, connectors = None, credentials = None))]
        fn validate(
            &self,
            connectors: Option<Vec<PyNetworkConnector>>,
            credentials: Option<PyRef<'_, PyCredentials>>,
        ) -> PyValidation {
            let connectors = connector_forms(connectors);
            let provider = credentials.map(|c| c.provider());
            let ctx = context(connectors.as_deref(), provider.as_deref());
            validate_smtp(&self.inner, "", &ctx).into()
        }
    }
}

form_class! {
    /// A network connector (a SOCKS5 or HTTP CONNECT proxy) accounts may connect through.
    PyNetworkConnector("NetworkConnectorForm") wraps NetworkConnectorForm {
        /// Name: required, 1–100 characters, unique.
        name / set_name: String,
        /// Enabled (default True); an account may not use a disabled connector.
        enabled / set_enabled: bool,
        /// 'SOCKS5' or 'HTTP_CONNECT' (required).
        kind / set_kind: Option<ConnectorKind>,
        /// The proxy's host.
        host / set_host: String,
        /// The proxy's port (required).
        port / set_port: Option<i64>,
        /// Credential id of the proxy's user and password (optional).
        credential / set_credential: Option<String>,
    }
    extra {
        /// Every problem at once; `credentials` (when given) are asked whether the credential
        /// id exists.
        #[pyo3(signature = (*, credentials = None))]
        fn validate(&self, credentials: Option<PyRef<'_, PyCredentials>>) -> PyValidation {
            let provider = credentials.map(|c| c.provider());
            let ctx = context(None, provider.as_deref());
            validate_connector(&self.inner, "", &ctx).into()
        }
    }
}

impl PyIncomingAccount {
    /// The validated account a driver takes; `ValidationError` when the form has errors.
    /// `connectors` are those the account may name (`None`: a named connector is unknown).
    pub(crate) fn typed(
        &self,
        connectors: Option<&[NetworkConnectorForm]>,
    ) -> PyResult<mail_settings_core::IncomingAccount> {
        let ctx = context(connectors, None);
        mail_settings_core::IncomingAccount::from_form(&self.inner, &ctx)
            .map_err(|v| to_py_err(Error::Validation(v)))
    }
}

impl PySmtpAccount {
    /// The validated account a driver takes; `ValidationError` when the form has errors.
    pub(crate) fn typed(
        &self,
        connectors: Option<&[NetworkConnectorForm]>,
    ) -> PyResult<mail_settings_core::SmtpAccount> {
        let ctx = context(connectors, None);
        mail_settings_core::SmtpAccount::from_form(&self.inner, &ctx)
            .map_err(|v| to_py_err(Error::Validation(v)))
    }
}

// ----- OAuth2 clients (helper o2bind) -----

form_class! {
    /// An OAuth2 client (application registration): docs/SETTINGS.md "OAuth2 clients". Holds
    /// no secret: the client secret is the vault entry `client_secret_credential`.
    PyOAuth2ClientForm("OAuth2ClientForm") wraps mail_settings_core::model::OAuth2ClientForm {
        /// Name: required, 1–100 characters, unique among OAuth2 clients.
        name / set_name: String,
        /// Enabled (default True); an account may not use a disabled client.
        enabled / set_enabled: bool,
        /// 'MICROSOFT', 'GOOGLE' or 'CUSTOM' (required).
        provider / set_provider: Option<mail_settings_core::model::OAuth2ProviderKind>,
        /// MICROSOFT only: the tenant id or domain.
        tenant / set_tenant: Option<String>,
        /// The application (client) id (required).
        client_id / set_client_id: String,
        /// The vault entry of the client secret; None for a public client.
        client_secret_credential / set_client_secret_credential: Option<String>,
        /// 'REFRESH_TOKEN' (default) or 'CLIENT_CREDENTIALS'.
        grant / set_grant: mail_settings_core::model::OAuth2Grant,
        /// The token endpoint; None: the provider's (required for CUSTOM).
        token_url / set_token_url: Option<String>,
        /// The device authorization endpoint; None: the provider's.
        device_authorization_url / set_device_authorization_url: Option<String>,
        /// The authorization endpoint (browser sign-in); None: the provider's.
        authorization_url / set_authorization_url: Option<String>,
        /// The scopes; empty: the provider's.
        scopes / set_scopes: Vec<String>,
    }
    extra {
        /// Every problem of the client's own fields at once.
        fn validate(&self) -> PyValidation {
            let ctx = context(None, None);
            mail_settings_core::validate::validate_oauth2_client(&self.inner, "", &ctx).into()
        }
    }
}
