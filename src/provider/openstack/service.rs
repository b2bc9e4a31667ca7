//! The four OpenStack services stackform talks to: their catalog type,
//! their project name (for messages), and the API version their endpoint
//! URL must end with.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Identity,
    Image,
    Compute,
    Network,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Identity,
        Service::Image,
        Service::Compute,
        Service::Network,
    ];

    /// The type the service has in the Keystone catalog and in
    /// `endpoint_overrides`.
    pub fn catalog_type(self) -> &'static str {
        match self {
            Service::Identity => "identity",
            Service::Image => "image",
            Service::Compute => "compute",
            Service::Network => "network",
        }
    }

    /// The project name users know from error messages and logs.
    pub fn project_name(self) -> &'static str {
        match self {
            Service::Identity => "Keystone",
            Service::Image => "Glance",
            Service::Compute => "Nova",
            Service::Network => "Neutron",
        }
    }

    pub fn from_catalog_type(service_type: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .find(|s| s.catalog_type() == service_type)
    }

    /// The endpoint as requests use it: with the API version the client
    /// speaks. Catalogs publish Glance and Neutron without a version
    /// (clients add `/v2` and `/v2.0`), Nova with `/v2.1` (sometimes
    /// followed by the project id) and Keystone usually with `/v3`
    /// (https://docs.openstack.org/api-ref/identity/v3/ "Service catalog").
    pub fn versioned_url(self, endpoint: &str) -> String {
        let base = endpoint.trim_end_matches('/');
        let has_version = |prefix: &str| {
            base.rsplit('/')
                .take(2)
                .any(|segment| segment.starts_with(prefix))
        };
        let suffix = match self {
            Service::Identity if !has_version("v3") => "/v3",
            Service::Image if !has_version("v2") => "/v2",
            Service::Network if !has_version("v2.0") => "/v2.0",
            Service::Compute if !has_version("v2") => "/v2.1",
            _ => "",
        };
        format!("{base}{suffix}")
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.project_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_added_only_where_the_catalog_leaves_them_out() {
        let v = |s: Service, url: &str| s.versioned_url(url);
        assert_eq!(v(Service::Image, "http://h/image"), "http://h/image/v2");
        assert_eq!(v(Service::Image, "http://h:9292/"), "http://h:9292/v2");
        assert_eq!(v(Service::Image, "http://h/image/v2"), "http://h/image/v2");
        assert_eq!(v(Service::Network, "http://h:9696"), "http://h:9696/v2.0");
        assert_eq!(
            v(Service::Network, "http://h/network/v2.0/"),
            "http://h/network/v2.0"
        );
        assert_eq!(
            v(Service::Compute, "http://h/compute/v2.1"),
            "http://h/compute/v2.1"
        );
        assert_eq!(
            v(Service::Compute, "http://h:8774/v2.1/0123abcd"),
            "http://h:8774/v2.1/0123abcd"
        );
        assert_eq!(v(Service::Compute, "http://h:8774"), "http://h:8774/v2.1");
        assert_eq!(
            v(Service::Identity, "http://h/identity"),
            "http://h/identity/v3"
        );
        assert_eq!(
            v(Service::Identity, "http://h/identity/v3/"),
            "http://h/identity/v3"
        );
    }
}
