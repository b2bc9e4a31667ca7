//! The service catalog of a token, and the choice of an endpoint in it:
//! by service type, interface and (when given) region.

use super::error::OpenStackError;
use super::service::Service;
use super::settings::Interface;
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Catalog(pub Vec<CatalogService>);

#[derive(Clone, Debug, serde::Deserialize)]
pub struct CatalogService {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct CatalogEndpoint {
    pub interface: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    pub url: String,
}

impl CatalogEndpoint {
    fn region(&self) -> Option<&str> {
        self.region_id.as_deref().or(self.region.as_deref())
    }
}

impl Catalog {
    /// The URL of `service`'s endpoint for `interface`, in `region` when
    /// one is given (else the first the catalog lists).
    pub fn endpoint(
        &self,
        service: Service,
        interface: Interface,
        region: Option<&str>,
    ) -> Result<&str, OpenStackError> {
        let no_endpoint = |detail: String| OpenStackError::NoEndpoint { service, detail };
        let endpoints: Vec<&CatalogEndpoint> = self
            .0
            .iter()
            .filter(|s| s.service_type == service.catalog_type())
            .flat_map(|s| &s.endpoints)
            .collect();
        if endpoints.is_empty() {
            let types: BTreeSet<&str> = self.0.iter().map(|s| s.service_type.as_str()).collect();
            return Err(no_endpoint(format!(
                "in the service catalog (it lists: {})",
                types.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        let in_region: Vec<&CatalogEndpoint> = match region {
            Some(r) => endpoints
                .iter()
                .copied()
                .filter(|e| e.region() == Some(r) || e.region.as_deref() == Some(r))
                .collect(),
            None => endpoints.clone(),
        };
        if in_region.is_empty() {
            let regions: BTreeSet<&str> = endpoints.iter().filter_map(|e| e.region()).collect();
            return Err(no_endpoint(format!(
                "in region {:?}; regions with one: {}",
                region.unwrap_or_default(),
                regions.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        in_region
            .iter()
            .find(|e| e.interface == interface.as_str())
            .map(|e| e.url.as_str())
            .ok_or_else(|| {
                let interfaces: BTreeSet<&str> =
                    in_region.iter().map(|e| e.interface.as_str()).collect();
                no_endpoint(format!(
                    "with interface {} (the catalog has: {})",
                    interface.as_str(),
                    interfaces.into_iter().collect::<Vec<_>>().join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        serde_json::from_value(serde_json::json!([
            {"type": "compute", "name": "nova", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "https://one/compute/v2.1"},
                {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://one-int/compute/v2.1"},
                {"interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "https://two/compute/v2.1"}
            ]},
            {"type": "image", "name": "glance", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "url": "https://one/image"}
            ]}
        ]))
        .unwrap_or_default()
    }

    #[test]
    fn picks_by_interface_and_region() {
        let c = catalog();
        let pick = |s, i, r| c.endpoint(s, i, r).map(str::to_string);
        assert_eq!(
            pick(Service::Compute, Interface::Public, None)
                .ok()
                .as_deref(),
            Some("https://one/compute/v2.1")
        );
        assert_eq!(
            pick(Service::Compute, Interface::Internal, Some("RegionOne"))
                .ok()
                .as_deref(),
            Some("http://one-int/compute/v2.1")
        );
        assert_eq!(
            pick(Service::Compute, Interface::Public, Some("RegionTwo"))
                .ok()
                .as_deref(),
            Some("https://two/compute/v2.1")
        );
    }

    #[test]
    fn errors_list_what_the_catalog_has() {
        let c = catalog();
        let err = |s, i, r| c.endpoint(s, i, r).err().map(|e| e.to_string());
        assert_eq!(
            err(Service::Compute, Interface::Public, Some("RegionThree")).as_deref(),
            Some(
                "no Nova endpoint (compute) in region \"RegionThree\"; regions with one: RegionOne, RegionTwo"
            )
        );
        assert_eq!(
            err(Service::Network, Interface::Public, None).as_deref(),
            Some("no Neutron endpoint (network) in the service catalog (it lists: compute, image)")
        );
        assert_eq!(
            err(Service::Image, Interface::Admin, None).as_deref(),
            Some("no Glance endpoint (image) with interface admin (the catalog has: public)")
        );
    }
}
