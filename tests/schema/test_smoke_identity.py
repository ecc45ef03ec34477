from tests.graphql import SignedUp


async def test_signed_up_admin_sees_their_isp(isp_a: SignedUp):
    data = await isp_a.client.execute("{ me { email } isps { totalCount edges { node { id } } } }")
    assert data["me"]["email"] == isp_a.email
    assert data["isps"]["edges"][0]["node"]["id"] == isp_a.isp_id
