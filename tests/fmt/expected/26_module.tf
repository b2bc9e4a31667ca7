module "net" {
  source          = "./modules/net"
  cidr            = "10.0.0.0/24"
  dns_nameservers = ["8.8.8.8"]
  providers = {
    openstack = openstack.east
  }
}
