//! Why an instance could not be rendered: the one error of render and of each file it builds.

use prow_api::yaml::YamlError;

/// Why an instance could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The `config` overlay contradicts the instance or holds what does not belong there.
    #[error("{path}: {message}")]
    Overlay {
        /// The field path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Two PluginConfigs set one key differently.
    #[error("{objects} disagree: {message}")]
    PluginConflict {
        /// The PluginConfigs involved.
        objects: String,
        /// The key and the two values.
        message: String,
    },
    /// A rendered file could not be written as YAML.
    #[error(transparent)]
    Yaml(#[from] YamlError),
}
