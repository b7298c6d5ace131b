use leptos::prelude::*;

use super::{plugin_scope, Outcome, PluginScope, RoleSelect};
use crate::domain::{ErrorBody, Password, PluginSummary, User, UserChange};
use crate::server_fns::{change_user, create_user, list_plugins, list_users};
use crate::ui::caller::{for_admins, use_caller, AdminOnly};
use crate::ui::components::LocalTime;

type Users = Resource<Result<Vec<User>, ErrorBody>>;

/// Who may sign in to the pages: add people, change their role and the plugins
/// they see, disable them, set a new password. Passwords go in and never come
/// back out.
#[component]
pub fn UsersPage() -> impl IntoView {
    let caller = use_caller();
    let users: Users = Resource::new(|| (), move |_| for_admins(caller, list_users()));
    let plugins = Resource::new(|| (), move |_| for_admins(caller, list_plugins()));
    view! {
        <AdminOnly>
            <h1>"Users"</h1>
            // The form stays put while the list below is read again after each
            // change: its last outcome stays on screen.
            <Transition fallback=|| view! { <p class="muted">"Loading plugins…"</p> }>
                {move || Suspend::new(async move {
                    match plugins.await {
                        Ok(plugins) => view! { <NewUserForm users plugins/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    // "(you)" marks the row of whoever is signed in.
                    let me = caller.await.map(|c| c.name).unwrap_or_default();
                    match (plugins.await, users.await) {
                        (Ok(plugins), Ok(list)) => view! { <UserTable users=list me plugins/> }.into_any(),
                        (Err(e), _) | (_, Err(e)) => {
                            view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
                        }
                    }
                })}
            </Transition>
        </AdminOnly>
    }
}

/// Add a user; the list is read again when it worked.
#[component]
fn NewUserForm(users: Users, plugins: Vec<PluginSummary>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let scope = RwSignal::new(Vec::<String>::new());
    let password = RwSignal::new(String::new());
    let add = Action::new(|new: &NewUser| {
        let new = new.clone();
        create_user(new.email, new.role, new.plugins, new.password)
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            email.set(String::new());
            scope.set(Vec::new());
            users.refetch();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // The password leaves the page's memory as it is sent.
        let secret = Password(password.get_untracked());
        password.set(String::new());
        let plugins = scope.get_untracked();
        add.dispatch(NewUser {
            email: email.get_untracked(),
            role: role.get_untracked(),
            plugins: (!plugins.is_empty()).then_some(plugins),
            password: secret,
        });
    };
    view! {
        <form class="admin-form" on:submit=submit aria-labelledby="new-user-title">
            <h2 id="new-user-title">"Add a user"</h2>
            <label>
                "Email"
                <input
                    type="email"
                    name="email"
                    autocomplete="off"
                    required
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev))
                />
            </label>
            <label>"Role" <RoleSelect value=role/></label>
            <PluginScope plugins scope legend="Plugins they may see (none ticked: all)"/>
            <label>
                "Password"
                <input
                    type="password"
                    name="password"
                    autocomplete="new-password"
                    aria-describedby="new-user-password-hint"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
            </label>
            <span id="new-user-password-hint" class="hint">"At least 12 characters."</span>
            <button type="submit" disabled=move || add.pending().get()>"Add user"</button>
            <Outcome action=add done=|u: &User| format!("Added {} as {}.", u.email, u.role)/>
        </form>
    }
}

/// What the add form sends.
#[derive(Clone)]
struct NewUser {
    email: String,
    role: String,
    plugins: Option<Vec<String>>,
    password: Password,
}

#[component]
fn UserTable(users: Vec<User>, me: String, plugins: Vec<PluginSummary>) -> impl IntoView {
    if users.is_empty() {
        return view! { <p class="empty">"Nobody can sign in yet: add a user above."</p> }
            .into_any();
    }
    view! {
        <table class="log people" data-testid="user-table">
            <thead>
                <tr>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Plugins"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last sign-in"</th>
                    <th scope="col">"Password set"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|user| {
                        let is_me = user.email == me;
                        view! { <UserRow user is_me plugins=plugins.clone()/> }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// One user and what an admin can change about them. The row shows what the
/// server answered after each change, or its refusal.
#[component]
fn UserRow(user: User, is_me: bool, plugins: Vec<PluginSummary>) -> impl IntoView {
    let id = user.id.to_string();
    let email = user.email.clone();
    let role = RwSignal::new(user.role.clone());
    let scope = RwSignal::new(user.plugins.clone().unwrap_or_default());
    let current = RwSignal::new(user);
    let password = RwSignal::new(String::new());
    let change = Action::new(move |change: &UserChange| change_user(id.clone(), change.clone()));
    Effect::new(move |_| match change.value().get() {
        Some(Ok(user)) => {
            role.set(user.role.clone());
            scope.set(user.plugins.clone().unwrap_or_default());
            current.set(user);
        }
        // A refused role change leaves the picker on the role the user has.
        Some(Err(_)) => role.set(current.with_untracked(|u| u.role.clone())),
        None => {}
    });
    let change_role = move |_| {
        change.dispatch(UserChange {
            role: Some(role.get_untracked()),
            ..UserChange::default()
        });
    };
    let change_scope = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch(UserChange {
            plugins: Some(scope.get_untracked()),
            ..UserChange::default()
        });
    };
    let toggle = move |_| {
        change.dispatch(UserChange {
            disabled: Some(!current.with_untracked(|u| u.disabled)),
            ..UserChange::default()
        });
    };
    let set_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let secret = Password(password.get_untracked());
        password.set(String::new());
        change.dispatch(UserChange {
            password: Some(secret),
            ..UserChange::default()
        });
    };
    let created = current.with_untracked(|u| u.created_at);
    let row_email = email.clone();
    view! {
        <tr data-email=row_email>
            <td class="email">
                {email.clone()}
                {is_me.then(|| view! { <span class="muted">" (you)"</span> })}
            </td>
            <td class="role">
                <RoleSelect value=role aria_label=format!("Role of {email}")/>
                <button type="button" on:click=change_role disabled=move || change.pending().get()>
                    "Change role"
                </button>
            </td>
            <td class="plugins">
                <span class="scope-now">{move || current.with(|u| plugin_scope(&u.plugins))}</span>
                <details class="change-scope">
                    <summary aria-label=format!("Change the plugins {email} may see")>"Change"</summary>
                    <form on:submit=change_scope>
                        <PluginScope plugins scope legend="Plugins they may see (none ticked: all)"/>
                        <button type="submit" disabled=move || change.pending().get()>"Save plugins"</button>
                    </form>
                </details>
            </td>
            <td class="status">
                {move || match current.with(|u| u.disabled_at) {
                    Some(at) => view! { "Disabled " <LocalTime at/> }.into_any(),
                    None => view! { "Active" }.into_any(),
                }}
            </td>
            <td><LocalTime at=created/></td>
            <td class="last-sign-in">
                {move || match current.with(|u| u.last_sign_in_at) {
                    Some(at) => view! { <LocalTime at/> }.into_any(),
                    None => view! { <span class="muted">"never"</span> }.into_any(),
                }}
            </td>
            <td>{move || view! { <LocalTime at=current.with(|u| u.password_changed_at)/> }}</td>
            <td class="actions">
                <button type="button" on:click=toggle disabled=move || change.pending().get()>
                    {move || if current.with(|u| u.disabled) { "Enable" } else { "Disable" }}
                </button>
                <details class="reset-password">
                    <summary>"Reset password"</summary>
                    <form on:submit=set_password>
                        <input
                            type="password"
                            autocomplete="new-password"
                            aria-label=format!("New password for {email}")
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                        <button type="submit">"Set password"</button>
                    </form>
                </details>
                <Outcome action=change done=|u: &User| format!("Saved {}.", u.email)/>
            </td>
        </tr>
    }
}
