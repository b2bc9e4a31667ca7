terraform {
required_version = ">= 1.5"
  backend "local" {
 path = "state/terraform.tfstate"
  }
}

provider "openstack" {
  cloud = "devcloud"  # from clouds.yaml
  region = "RegionOne"
  endpoint_overrides = {
    "compute" = "http://127.0.0.1:8774/v2.1/"
    "image"="http://127.0.0.1:9292/"
  }
}
