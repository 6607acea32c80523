from accounts.models import ConnectionState, SalesforceConnection


def test_it_connects_the_demo_user_through_the_real_flow(sf_connection, sf_emulator):
    # R17
    demo = sf_emulator.demo
    assert sf_connection.org.org_id == demo.org_id
    assert sf_connection.sf_user_id == demo.user_id
    assert sf_connection.username == demo.username
    assert sf_connection.state == ConnectionState.CONNECTED
    assert sf_connection.is_usable
    assert sf_emulator.token_is_valid(sf_connection.access_token)
    assert SalesforceConnection.objects.count() == 1
